/**
 * The umbrella chart's optional idle-timeout probe Job (issue 17): off by default; on, a valid,
 * hardened Job whose containers run `tether-probe idle` with one key of the apps' Secret each —
 * run here from the rendered spec against a real Redis (report in the log) and a refused
 * Postgres port (exit 1, its password never printed) — and values the schema refuses.
 */
import type { V1Job } from '@kubernetes/client-node';
import { EphemeralRedis } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runContainer } from '../src/container-run.ts';
import { prepareCharts, render, renderError, workspaceRoot, type Manifest } from '../src/helm.ts';
import { loadModels, schemaSources, validateObject } from '../src/k8s-schema.ts';
import type { Container } from '../src/manifests.ts';
import { parseConfig } from '../src/static/config.ts';
import { checkObjects, violations } from '../src/static/engine.ts';
import type { K8sObject } from '../src/static/objects.ts';

const charts = prepareCharts();
afterAll(() => charts.remove());
const umbrella = () => charts.path('tether');

const probeJobs = (manifests: Manifest[]) =>
  manifests.filter(
    (m) => m.kind === 'Job' && m.metadata.labels?.['app.kubernetes.io/component'] === 'probe',
  ) as unknown as (V1Job & Manifest)[];
const containersOf = (job: V1Job) => job.spec?.template.spec?.containers ?? [];

describe('the probe Job in the umbrella chart', () => {
  it('is not rendered with the default values', () => {
    expect(probeJobs(render(umbrella()))).toEqual([]);
  });

  it('on, renders one valid Job: per target a container running tether-probe idle with one Secret key, hardened', async () => {
    const manifests = render(umbrella(), { set: { 'probe.enabled': 'true' } });
    const [job, ...more] = probeJobs(manifests);
    expect(more).toEqual([]);
    expect(job?.metadata.name).toBe('rel-probe-r1');
    expect(job?.spec?.backoffLimit).toBe(0);
    const api = manifests.find(
      (m) => m.kind === 'Deployment' && m.metadata.name === 'rel-api',
    ) as unknown as V1Job;
    const appSecret = containersOf(api)[0]?.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom
      ?.secretKeyRef?.name;
    expect(appSecret).toBe('rel-tether');
    expect(containersOf(job as V1Job).map((c) => [c.name, c.args?.slice(0, 4), c.env])).toEqual([
      [
        'postgres',
        ['src/cli.ts', 'idle', '--env', 'DATABASE_URL'],
        [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: appSecret, key: 'DATABASE_URL' } } }],
      ],
      [
        'redis',
        ['src/cli.ts', 'idle', '--env', 'REDIS_URL'],
        [{ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: appSecret, key: 'REDIS_URL' } } }],
      ],
    ]);
    expect(containersOf(job as V1Job)[0]?.args?.slice(4)).toEqual([
      '--max-idle',
      '15m',
      '--resolution',
      '10s',
      '--connections',
      '8',
      '--rounds',
      '4',
      '--timeout',
      '5s',
      '--keepalive',
      '10s',
    ]);
    const models = await loadModels(schemaSources[1]!);
    expect(validateObject(models, job as unknown as Record<string, unknown>)).toEqual([]);
    const config = parseConfig({ rules: { 'image-policy': false } });
    expect(violations(checkObjects([job as unknown as K8sObject], config))).toEqual([]);
  });

  it('follows global.existingSecret, probes only the targets asked for, and never inlines a credential', () => {
    const password = 'probe-job-password-1234567890';
    const manifests = render(umbrella(), {
      set: {
        'probe.enabled': 'true',
        'probe.redis': 'false',
        'global.existingSecret': 'team-secrets',
      },
    });
    const containers = containersOf(probeJobs(manifests)[0] as V1Job);
    expect(containers.map((c) => c.name)).toEqual(['postgres']);
    expect(containers[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name).toBe('team-secrets');
    const made = render(umbrella(), {
      set: {
        'probe.enabled': 'true',
        'secrets.create': 'true',
        'secrets.databaseUrl': `postgres://tether:${password}@db/tether`,
        'secrets.redisUrl': `redis://:${password}@redis:6379`,
        'secrets.authJwtSecret': 'x'.repeat(32),
      },
    });
    expect(JSON.stringify(probeJobs(made))).not.toContain(password);
  });

  it('refuses bad values, naming them', () => {
    const on = { 'probe.enabled': 'true' };
    expect(renderError(umbrella(), { set: { ...on, 'probe.connections': '0' } })).toMatch(
      /at '\/probe\/connections': minimum: got 0, want 1/,
    );
    expect(renderError(umbrella(), { set: { ...on, 'probe.rounds': '11' } })).toMatch(
      /at '\/probe\/rounds': maximum: got 11, want 10/,
    );
    expect(renderError(umbrella(), { set: { ...on, 'probe.maxIdle': 'forever' } })).toMatch(
      /at '\/probe\/maxIdle'/,
    );
    expect(renderError(umbrella(), { set: { ...on, 'probe.maxidle': '5m' } })).toContain(
      "additional properties 'maxidle' not allowed",
    );
    expect(
      renderError(umbrella(), { set: { ...on, 'probe.postgres': 'false', 'probe.redis': 'false' } }),
    ).toContain('probe.postgres and probe.redis are both false');
    expect(renderError(umbrella(), { set: { ...on, 'probe.image.repository': '' } })).toContain(
      'probe.image.repository must not be empty: add --set probe.image.repository=<registry>/<image>',
    );
  });
});

describe('the rendered probe containers, run as the image runs them', () => {
  const password = 'probe-run-password-0987654321';
  let redis: EphemeralRedis;
  beforeAll(async () => {
    redis = await EphemeralRedis.start();
  });
  afterAll(async () => redis?.stop());

  it('prints the report in the log (Redis), exits 1 on an unreachable Postgres without printing its password', async () => {
    const job = probeJobs(
      render(umbrella(), {
        set: {
          'probe.enabled': 'true',
          'probe.maxIdle': '2s',
          'probe.resolution': '1s',
          'probe.connections': '2',
          'probe.rounds': '1',
          'probe.timeout': '1s',
          'probe.keepalive': '1s',
        },
      }),
    )[0] as V1Job;
    const secrets = {
      DATABASE_URL: `postgres://tether:${password}@127.0.0.1:1/tether`,
      REDIS_URL: redis.url,
    };
    const runs = containersOf(job).map((c) =>
      runContainer(c as unknown as Container, { root: workspaceRoot, workspace: 'tools/probe', secrets }),
    );
    const [postgres, redisRun] = await Promise.all(
      runs.map(async (r) => ({ code: await r.exited, log: r.output() })),
    );
    expect(redisRun?.code, redisRun?.log).toBe(0);
    expect(redisRun?.log).toContain('tether-probe idle redis://127.0.0.1:');
    expect(redisRun?.log).toContain('recommendation:');
    expect(postgres?.code, postgres?.log).toBe(1);
    expect(postgres?.log).toContain('cannot probe postgres://127.0.0.1:1/tether');
    for (const run of [postgres, redisRun]) expect(run?.log).not.toContain(password);
  });
});
