/**
 * The umbrella chart's alerts and dashboard against what the stack really exports: the three apps
 * run from their rendered pod specs (against a real Postgres and Redis, after the rendered
 * migrations Job), plus a process that drives every lib's metrics for real (the placeholder apps do
 * not use @tether/pooling yet), and every /metrics is scraped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EphemeralPostgres, EphemeralRedis, freePort } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runContainer, waitForStatus, type RunningContainer } from '../src/container-run.ts';
import { chartsDir, prepareCharts, render, workspaceRoot, type Manifest } from '../src/helm.ts';
import { type Container, type Deployment, ofKind, onlyOne, probePort } from '../src/manifests.ts';
import { exposedMetricNames, parsePromQL, substituteGrafanaVariables } from '../src/promql.ts';

const charts = prepareCharts();
const monitoringApis = ['monitoring.coreos.com/v1', 'monitoring.coreos.com/v1/PrometheusRule'];
/** Series from kube-state-metrics (standard in kube-prometheus-stack), not from the apps. */
const kubeStateMetrics = new Set(['kube_pod_status_ready', 'kube_pod_container_status_restarts_total']);

let postgres: EphemeralPostgres;
let redis: EphemeralRedis;
const running: RunningContainer[] = [];
const scraped = new Map<string, Set<string>>();
let manifests: Manifest[];

interface Rule {
  alert: string;
  expr: string;
}

function rules(): Rule[] {
  const rule = manifests.find((m) => m.kind === 'PrometheusRule') as Manifest & {
    spec: { groups: { rules: Rule[] }[] };
  };
  return rule.spec.groups.flatMap((g) => g.rules);
}

interface Dashboard {
  panels: {
    id: number;
    title: string;
    type: string;
    gridPos: object;
    targets: { expr: string; refId: string }[];
  }[];
  templating: { list: { name: string; definition?: string }[] };
  schemaVersion: number;
  uid: string;
}

function dashboard(): Dashboard {
  const configMap = manifests.find((m) => m.kind === 'ConfigMap') as Manifest & {
    data: Record<string, string>;
  };
  return JSON.parse(configMap.data['tether.json'] as string) as Dashboard;
}

async function scrape(url: string): Promise<Set<string>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return exposedMetricNames(await response.text());
}

beforeAll(async () => {
  [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  manifests = render(charts.path('tether'), {
    apiVersions: monitoringApis,
    set: {
      'monitoring.prometheusRule.enabled': 'true',
      'monitoring.dashboard.enabled': 'true',
      'api.ports.public': String(ports[0]),
      'api.ports.admin': String(ports[1]),
      'worker.ports.admin': String(ports[2]),
      'ws-gateway.ports.public': String(ports[3]),
      'ws-gateway.ports.admin': String(ports[4]),
    },
  });
  const secrets = {
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    AUTH_JWT_SECRET: 'chart-verify-'.repeat(3),
  };

  const job = onlyOne<Manifest & { spec: { template: { spec: { containers: Container[] } } } }>(
    manifests,
    'Job',
  );
  const migrate = runContainer(job.spec.template.spec.containers[0] as Container, {
    root: workspaceRoot,
    workspace: 'libs/migrations',
    secrets,
  });
  expect(await migrate.exited, migrate.output()).toBe(0);

  for (const deployment of ofKind<Deployment>(manifests, 'Deployment')) {
    const app = deployment.metadata.labels?.['app.kubernetes.io/name'] as string;
    const container = deployment.spec.template.spec.containers[0] as Container;
    const process = runContainer(container, { root: workspaceRoot, workspace: `apps/${app}`, secrets });
    running.push(process);
    const readiness = container.readinessProbe as NonNullable<Container['readinessProbe']>;
    const admin = `http://127.0.0.1:${probePort(container, readiness)}`;
    // Generous: the api takes ~15 s to start on an idle 2-core VM, far longer under load.
    await waitForStatus(process, `${admin}${readiness.httpGet.path}`, 200, 150_000);
    const publicPort = container.ports?.find((p) => p.name === 'http')?.containerPort;
    if (publicPort) await fetch(`http://127.0.0.1:${publicPort}/v1/jobs`).then((r) => r.arrayBuffer());
    scraped.set(app, await scrape(`${admin}/metrics`));
  }

  const libAdmin = await freePort();
  const lib = spawn(
    process.execPath,
    ['--conditions=@tether/source', join(import.meta.dirname, 'fixtures', 'lib-metrics-app.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        DEAD_PORT: String(await freePort()),
        ADMIN_PORT: String(libAdmin),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  lib.stderr.on('data', (c) => (output += c));
  await new Promise<void>((resolve, reject) => {
    lib.stdout.on('data', (chunk) => String(chunk).includes('exercised') && resolve());
    lib.on('exit', (code) => reject(new Error(`lib-metrics-app exited ${code}:\n${output}`)));
  });
  scraped.set('libs (pooling, outage, retry)', await scrape(`http://127.0.0.1:${libAdmin}/metrics`));
  lib.kill('SIGTERM');
  await once(lib, 'exit');
}, 420_000);

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop('SIGKILL')));
  await Promise.all([postgres?.stop(), redis?.stop()]);
  charts.remove();
});

function exporterOf(metric: string): string | undefined {
  if (kubeStateMetrics.has(metric)) return 'kube-state-metrics';
  for (const [source, names] of scraped) if (names.has(metric)) return source;
  return undefined;
}

describe('alerts (PrometheusRule)', () => {
  it('has the alerts the issue asks for', () => {
    expect(rules().map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'TetherDependencyOutage',
        'TetherRetryBudgetExhausted',
        'TetherPoolSaturated',
        'TetherReadinessFlapping',
        'TetherPodRestarting',
      ]),
    );
  });

  it('every expression parses and names only metrics a /metrics scrape really showed', () => {
    for (const rule of rules()) {
      const parsed = parsePromQL(rule.expr);
      expect(parsed.errors, rule.alert).toEqual([]);
      expect(parsed.metrics.length, rule.alert).toBeGreaterThan(0);
      for (const metric of parsed.metrics)
        expect({ metric, exporter: exporterOf(metric) }).not.toEqual({ metric, exporter: undefined });
    }
  });

  it('a typo in an expression or a metric name is caught (controls)', () => {
    expect(parsePromQL('sum(rate(tether_outage_count_total[5m])').errors.length).toBeGreaterThan(0);
    expect(exporterOf('tether_outage_count')).toBeUndefined();
    expect(exporterOf('db_client_connection_wait_time_seconds_bucket')).toBeUndefined();
  });

  it('the apps themselves export the HTTP metric the 5xx alert reads', () => {
    expect(scraped.get('api')?.has('http_server_request_duration_count')).toBe(true);
  });
});

describe('Grafana dashboard', () => {
  it('is a dashboard Grafana can load: schemaVersion, uid, unique panel ids, grid positions, a Prometheus datasource variable', () => {
    const d = dashboard();
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of d.panels) {
      expect(panel.gridPos).toMatchObject({
        h: expect.any(Number),
        w: expect.any(Number),
        x: expect.any(Number),
        y: expect.any(Number),
      });
      expect(panel.targets.length).toBeGreaterThan(0);
      expect(new Set(panel.targets.map((t) => t.refId)).size).toBe(panel.targets.length);
    }
    expect(d.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    expect(JSON.parse(readFileSync(join(chartsDir, 'tether', 'files', 'dashboard.json'), 'utf8'))).toEqual(d);
  });

  it('shows request rate and errors, pool usage, outage episodes and reconnects', () => {
    const metrics = new Set(
      dashboard().panels.flatMap((p) =>
        p.targets.flatMap((t) => parsePromQL(substituteGrafanaVariables(t.expr)).metrics),
      ),
    );
    for (const metric of [
      'http_server_request_duration_count',
      'db_client_connection_count',
      'tether_outage_count_total',
      'tether_db_client_connection_evictions_total',
    ])
      expect(metrics).toContain(metric);
  });

  it('every query parses and names only metrics a /metrics scrape really showed', () => {
    const d = dashboard();
    for (const panel of d.panels) {
      for (const target of panel.targets) {
        const parsed = parsePromQL(substituteGrafanaVariables(target.expr));
        expect(parsed.errors, panel.title).toEqual([]);
        for (const metric of parsed.metrics)
          expect({ metric, exporter: exporterOf(metric) }).not.toEqual({ metric, exporter: undefined });
      }
    }
    const variable = d.templating.list.find((v) => v.name === 'namespace')?.definition ?? '';
    const metric = /label_values\((\w+),/.exec(variable)?.[1] as string;
    expect(exporterOf(metric)).toBeDefined();
  });
});

describe('gating on the cluster API', () => {
  it('renders no PrometheusRule, dashboard or PodMonitor where the Prometheus Operator API is absent', () => {
    const set = {
      'monitoring.prometheusRule.enabled': 'true',
      'monitoring.dashboard.enabled': 'true',
      'api.metrics.podMonitor.enabled': 'true',
    };
    const without = render(charts.path('tether'), { set }).map((m) => m.kind);
    expect(without).not.toContain('PrometheusRule');
    expect(without).not.toContain('ConfigMap');
    expect(without).not.toContain('PodMonitor');
    const withApi = render(charts.path('tether'), {
      set,
      apiVersions: [...monitoringApis, 'monitoring.coreos.com/v1/PodMonitor'],
    }).map((m) => m.kind);
    expect(withApi).toEqual(expect.arrayContaining(['PrometheusRule', 'ConfigMap', 'PodMonitor']));
  });
});

describe('the apps run from their rendered pod specs', () => {
  it('each Deployment drains and exits 0 on SIGTERM', async () => {
    expect(running).toHaveLength(3);
    for (const process of running) expect(await process.stop('SIGTERM'), process.output()).toBe(0);
  });
});
