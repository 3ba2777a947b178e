import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1HTTPGetAction,
  V1ObjectMeta,
  V1PodDisruptionBudget,
  V1PodDisruptionBudgetSpec,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1RollingUpdateDeployment,
  V1SecurityContext,
  V1Service,
} from '@kubernetes/client-node';
import { parse as parseJUnit, type TestSuites } from 'junit2json';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { chartsDir, prepareCharts } from '../src/helm.ts';
import { runStatic } from '../src/static/command.ts';
import type { Finding } from '../src/static/finding.ts';

const work = mkdtempSync(join(tmpdir(), 'chart-verify-static-test-'));
const charts = prepareCharts();
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  charts.remove();
});
const good = readFileSync(join(import.meta.dirname, 'fixtures', 'static', 'good.yaml'), 'utf8');
const allRules = join(work, 'all-rules.yaml');
writeFileSync(allRules, 'rules:\n  image-policy: true\n');

/** runStatic in this process, its output captured. */
async function run(argv: string[], stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runStatic(argv, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    stdin: () => stdin,
  });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

async function findings(argv: string[]): Promise<{ status: number; failed: Finding[]; all: Finding[] }> {
  const result = await run([...argv, '--format', 'json']);
  expect(result.err).toBe('');
  const all = (JSON.parse(result.out) as { findings: Finding[] }).findings;
  return { status: result.status, all, failed: all.filter((f) => !f.passed && !f.waived) };
}

/** The fixture's objects, with the fields the cases change known to be there. */
type Docs = {
  service: V1Service;
  pdb: V1PodDisruptionBudget & {
    spec: V1PodDisruptionBudgetSpec & { selector: { matchLabels: Record<string, string> } };
  };
  deployment: V1Deployment & {
    metadata: V1ObjectMeta;
    spec: { strategy: { rollingUpdate: V1RollingUpdateDeployment }; template: { spec: V1PodSpec } };
  };
  container: V1Container & {
    readinessProbe: V1Probe & { httpGet: V1HTTPGetAction };
    livenessProbe: V1Probe & { httpGet: V1HTTPGetAction };
    resources: V1ResourceRequirements;
    securityContext: V1SecurityContext;
    env: V1EnvVar[];
  };
};

/** The good fixture with one change, written to a file: a broken manifest for one rule. */
function broken(name: string, change: (docs: Docs) => void): string {
  const [service, pdb, deployment] = parseAllDocuments(good).map((d) => d.toJS());
  const docs = { service, pdb, deployment, container: deployment.spec.template.spec.containers[0] } as Docs;
  change(docs);
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, [docs.service, docs.pdb, docs.deployment].map((d) => stringify(d)).join('---\n'));
  return file;
}

const setEnv = (container: Docs['container'], name: string, value: string) => {
  for (const e of container.env) if (e.name === name) e.value = value;
};

describe('static on the repository charts (default values)', () => {
  it('passes on charts/tether straight from the repository, building its dependencies in a copy', async () => {
    const { status, failed, all } = await findings([join(chartsDir, 'tether')]);
    expect(failed).toEqual([]);
    expect(status).toBe(0);
    expect(all.length).toBeGreaterThan(30);
    for (const chart of ['api', 'worker', 'ws-gateway', 'tether'])
      expect(existsSync(join(chartsDir, chart, 'charts'))).toBe(false);
  });

  it.each(['api', 'worker', 'ws-gateway'] as const)('passes on charts/%s', async (chart) => {
    const { status, failed, all } = await findings([charts.path(chart)]);
    expect(failed).toEqual([]);
    expect(status).toBe(0);
    expect(all.length).toBeGreaterThan(9);
  });

  it('refuses the library chart with a clear message (it renders nothing by itself)', async () => {
    const result = await run([join(chartsDir, 'tether-common')]);
    expect(result.status).toBe(2);
    expect(result.err).toContain('is a library chart: it renders nothing by itself');
  });

  it('fails a chart whose values break the readiness window or drop the PDB, naming the numbers', async () => {
    const window = await findings([charts.path('api'), '--set', 'probes.readiness.failureThreshold=3']);
    expect(window.status).toBe(1);
    expect(window.failed.map((f) => [f.rule, f.ref, f.message])).toEqual([
      [
        'readiness-window',
        'Deployment/release-api',
        'container api: readinessProbe periodSeconds 5 x failureThreshold 3 = 15 s does not fit in the preStop window 10 s (preStop sleep 10 s + SHUTDOWN_DRAIN_DELAY_MS 0 s)',
      ],
    ]);
    const pdb = await findings([charts.path('api'), '--set', 'podDisruptionBudget.enabled=false']);
    expect(pdb.failed.map((f) => f.message)).toEqual([
      'Deployment/release-api runs up to 2 replicas and no PodDisruptionBudget selects its pods',
    ]);
  });
});

/** [rule, change, every failure it must produce as [rule, message]]. */
const cases: [string, (d: Docs) => void, [string, string][]][] = [
  [
    'probes-present',
    (d) => delete d.container.startupProbe,
    [['probes-present', 'container shop has no startupProbe']],
  ],
  [
    'probe-port',
    (d) => (d.container.readinessProbe.httpGet.port = 'admn'),
    [
      [
        'probe-port',
        'readinessProbe targets port "admn", which container shop does not declare (ports: http=8080, admin=9090)',
      ],
    ],
  ],
  [
    'probes-distinct',
    (d) => (d.container.readinessProbe.httpGet = { path: '/livez', port: 9090 }),
    [
      [
        'probes-distinct',
        'container shop: readinessProbe and livenessProbe are the same check (HTTP GET /livez on port 9090)',
      ],
    ],
  ],
  [
    'liveness-no-dependencies',
    (d) => (d.container.livenessProbe.httpGet.path = '/health/db'),
    [
      [
        'liveness-no-dependencies',
        'container shop: livenessProbe HTTP GET /health/db on port 9090 looks like a dependency check (matches dependencyPathPattern)',
      ],
    ],
  ],
  [
    'prestop-present',
    (d) => {
      delete d.container.lifecycle;
      setEnv(d.container, 'SHUTDOWN_DRAIN_DELAY_MS', '0');
    },
    [
      [
        'prestop-present',
        'container shop is behind a Service and has no preStop hook (nor an in-app drain delay SHUTDOWN_DRAIN_DELAY_MS > 0)',
      ],
      [
        'readiness-window',
        'container shop: readinessProbe periodSeconds 5 x failureThreshold 2 = 10 s does not fit in the preStop window 0 s (no preStop + SHUTDOWN_DRAIN_DELAY_MS 0 s)',
      ],
    ],
  ],
  [
    'prestop-present (not shorter than the grace period)',
    (d) => (d.deployment.spec.template.spec.terminationGracePeriodSeconds = 8),
    [
      [
        'prestop-present',
        'container shop: preStop sleep 8 s is not shorter than terminationGracePeriodSeconds 8 s',
      ],
      [
        'grace-budget',
        'container shop: terminationGracePeriodSeconds 8 s < preStop sleep 8 s + SHUTDOWN_DRAIN_DELAY_MS 2 s + SHUTDOWN_TIMEOUT_MS 20 s + margin 5 s = 35 s',
      ],
    ],
  ],
  [
    'grace-budget',
    (d) => setEnv(d.container, 'SHUTDOWN_TIMEOUT_MS', '25000'),
    [
      [
        'grace-budget',
        'container shop: terminationGracePeriodSeconds 35 s < preStop sleep 8 s + SHUTDOWN_DRAIN_DELAY_MS 2 s + SHUTDOWN_TIMEOUT_MS 25 s + margin 5 s = 40 s',
      ],
    ],
  ],
  [
    'readiness-window',
    (d) => (d.container.readinessProbe.failureThreshold = 3),
    [
      [
        'readiness-window',
        'container shop: readinessProbe periodSeconds 5 x failureThreshold 3 = 15 s does not fit in the preStop window 10 s (preStop sleep 8 s + SHUTDOWN_DRAIN_DELAY_MS 2 s)',
      ],
    ],
  ],
  [
    'pdb-coverage',
    (d) => (d.pdb.spec.selector.matchLabels.app = 'cart'),
    [['pdb-coverage', 'Deployment/shop runs up to 3 replicas and no PodDisruptionBudget selects its pods']],
  ],
  [
    'pdb-allows-eviction',
    (d) => (d.pdb.spec = { minAvailable: 3, selector: d.pdb.spec.selector }),
    [
      [
        'pdb-allows-eviction',
        'PodDisruptionBudget/shop has minAvailable 3 and Deployment/shop runs 3 replicas: it never allows a voluntary eviction',
      ],
    ],
  ],
  [
    'pdb-allows-eviction (maxUnavailable 0)',
    (d) => (d.pdb.spec.maxUnavailable = 0),
    [
      [
        'pdb-allows-eviction',
        'PodDisruptionBudget/shop has maxUnavailable 0: it never allows a voluntary eviction',
      ],
    ],
  ],
  [
    'rollout-max-unavailable',
    (d) => (d.deployment.spec.strategy.rollingUpdate.maxUnavailable = '25%'),
    [
      [
        'rollout-max-unavailable',
        'Deployment/shop has strategy.rollingUpdate.maxUnavailable "25%"; set it to 0',
      ],
    ],
  ],
  [
    'resources',
    (d) => delete d.container.resources.limits,
    [['resources', 'container shop has no resources.limits.memory']],
  ],
  [
    'security-context',
    (d) => (d.container.securityContext.readOnlyRootFilesystem = false),
    [['security-context', 'container shop: readOnlyRootFilesystem is not true']],
  ],
  [
    'image-policy',
    (d) => (d.container.image = 'registry.example.com/shop:latest'),
    [['image-policy', 'container shop: image "registry.example.com/shop:latest" is :latest with no digest']],
  ],
];

describe('static on one broken manifest per rule', () => {
  it('passes every rule on the good fixture (control)', async () => {
    const { status, failed, all } = await findings([broken('good', () => {}), '--config', allRules]);
    expect(failed).toEqual([]);
    expect(new Set(all.map((f) => f.rule)).size).toBe(13);
    expect(status).toBe(0);
  });

  it.each(cases)('%s: exit 1 with the precise message', async (name, change, expected) => {
    const file = broken(name.replace(/\W+/g, '-'), change);
    const { status, failed } = await findings([file, '--config', allRules]);
    expect(failed.map((f) => [f.rule, f.message])).toEqual(expected);
    expect(status).toBe(1);
  });
});

describe('waivers and configuration', () => {
  const budget = (annotations: Record<string, string>) =>
    broken('waived', (d) => {
      setEnv(d.container, 'SHUTDOWN_TIMEOUT_MS', '25000');
      d.deployment.metadata.annotations = annotations;
    });

  it('a waiver with a reason turns the failure into a waived finding and the exit into 0', async () => {
    const reason = 'shutdown timeout is a ceiling; jobs finish in 5 s';
    const { status, all } = await findings([
      budget({ 'chart-verify.tether.dev/waive-grace-budget': reason }),
    ]);
    expect(all.find((f) => f.rule === 'grace-budget')?.waived).toBe(reason);
    expect(status).toBe(0);
  });

  it('a waiver without a real reason, or for no rule, is itself a failure', async () => {
    const short = await findings([budget({ 'chart-verify.tether.dev/waive-grace-budget': 'ok' })]);
    expect(short.status).toBe(1);
    expect(short.failed[0]?.message).toContain(
      '(waiver chart-verify.tether.dev/waive-grace-budget ignored: its reason must be at least 10 characters)',
    );
    const unknown = await findings([
      budget({ 'chart-verify.tether.dev/waive-grace-budgte': 'a long enough reason' }),
    ]);
    expect(unknown.failed.map((f) => [f.rule, f.message.split(' (')[0]])).toContainEqual([
      'waivers',
      'annotation chart-verify.tether.dev/waive-grace-budgte waives no rule',
    ]);
  });

  it('a config file turns rules off and sets their options; --rule picks rules; a bad key exits 2 naming it', async () => {
    const file = budget({});
    const config = join(work, 'config.yaml');
    writeFileSync(config, 'marginSeconds: 0\nshutdownTimeoutEnv: [SHUTDOWN_TIMEOUT_MS]\n');
    expect((await findings([file, '--config', config])).status).toBe(0);
    writeFileSync(config, 'rules:\n  grace-budget: false\n');
    expect((await findings([file, '--config', config])).all.some((f) => f.rule === 'grace-budget')).toBe(
      false,
    );
    const picked = await findings([file, '--rule', 'resources']);
    expect([...new Set(picked.all.map((f) => f.rule))]).toEqual(['resources']);
    writeFileSync(config, 'rules:\n  grace-budgte: false\n');
    const bad = await run([file, '--config', config]);
    expect(bad.status).toBe(2);
    expect(bad.err).toContain('rules.grace-budgte is not a rule');
  });

  it('reads manifests from stdin', async () => {
    const result = await run(
      ['-'],
      readFileSync(
        broken('stdin', (d) => (d.container.resources = {})),
        'utf8',
      ),
    );
    expect(result.status).toBe(1);
    expect(result.out).toContain(
      'container shop has no resources.requests.cpu, resources.requests.memory, resources.limits.memory',
    );
  });
});

describe('JUnit output', () => {
  it('loads in junit2json: one suite per rule, failures with their message, waivers as skipped', async () => {
    const file = broken('junit', (d) => {
      d.container.readinessProbe.failureThreshold = 3;
      setEnv(d.container, 'SHUTDOWN_TIMEOUT_MS', '25000');
      d.deployment.metadata.annotations = {
        'chart-verify.tether.dev/waive-grace-budget': 'budget checked by load test <&>',
      };
    });
    const out = join(work, 'junit.xml');
    expect((await run([file, '--junit', out])).status).toBe(1);
    const parsed = (await parseJUnit(readFileSync(out, 'utf8'))) as TestSuites;
    expect(parsed.tests).toBe(12);
    expect(parsed.failures).toBe(1);
    const suite = (name: string) => parsed.testsuite?.find((s) => s.name === name);
    expect(suite('readiness-window')?.testcase?.[0]?.failure?.[0]?.message).toBe(
      'container shop: readinessProbe periodSeconds 5 x failureThreshold 3 = 15 s does not fit in the preStop window 10 s (preStop sleep 8 s + SHUTDOWN_DRAIN_DELAY_MS 2 s)',
    );
    expect(suite('grace-budget')?.skipped).toBe(1);
    expect(suite('grace-budget')?.testcase?.[0]?.skipped?.[0]?.message).toBe(
      'waived: budget checked by load test <&>',
    );
    expect(suite('resources')?.testcase?.[0]).toEqual({
      classname: 'chart-verify.static.resources',
      name: 'Deployment/shop [shop]',
      time: 0,
    });
  });
});
