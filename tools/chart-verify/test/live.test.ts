/**
 * live's watch and report logic against a local fake API server replaying a recorded rollout
 * (list + watch in the API's wire format), with a watch answered 500 and a watch stream cut
 * mid-way that the informers must survive by restarting; and live's refusal to touch a cluster
 * it was not explicitly given.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeRollout } from '../src/live/analyze.ts';
import { kubeConfigFor, runLive } from '../src/live/command.ts';
import { buildReport, formatReport } from '../src/live/report.ts';
import { watchRollout, type RolloutWatch } from '../src/live/watch.ts';
import { startFakeApiServer, type FakeApiServer } from './fixtures/fake-apiserver.ts';
import { lastEventAt, recordedRollout } from './fixtures/live/rollout.ts';

const work = mkdtempSync(join(tmpdir(), 'chart-verify-live-'));
let api: FakeApiServer;
let kubeconfig: string;
beforeAll(async () => {
  api = await startFakeApiServer(recordedRollout);
  kubeconfig = api.writeKubeconfig(work, 'kind-test');
});
afterAll(async () => {
  await api?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('live: watching a recorded rollout', () => {
  let watch: RolloutWatch;
  /** When the rollout began, as observed: the Deployment's generation 2 (live: when it sent the restart). */
  let rolloutStartsAt: number;

  beforeAll(async () => {
    const kc = kubeConfigFor('kind-test', kubeconfig);
    watch = watchRollout(kc, {
      namespace: 'shop',
      podSelector: 'app=shop',
      sliceSelector: 'kubernetes.io/service-name=shop',
      restartDelayMs: 50,
    });
    await watch.synced;
    // Until the last recorded event has been delivered (restarts included), or 10 s.
    const deadline = Date.now() + 10_000;
    while (
      Date.now() < deadline &&
      !watch.observations.some((o) => o.verb === 'delete' && o.object.metadata?.name === 'shop-old-b')
    )
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Date.now() - api.started).toBeGreaterThanOrEqual(lastEventAt);
    await watch.stop();
    rolloutStartsAt = watch.observations.find(
      (o) => o.resource === 'deployment' && o.object.metadata?.generation === 2,
    )?.at as number;
  });

  it('restarts the informers after a watch answered 500 and a watch stream cut mid-way, and misses no event', () => {
    expect(watch.restarts.map((r) => r.resource).sort()).toEqual(['endpointslice', 'pod']);
    const podWatches = api.requests.filter(
      (r) => r.startsWith('GET /api/v1/namespaces/shop/pods?') && r.includes('watch=true'),
    );
    expect(podWatches.length).toBeGreaterThanOrEqual(2);
    expect(podWatches.every((r) => r.includes('labelSelector=app%3Dshop'))).toBe(true);
    const seen = (resource: string) => watch.observations.filter((o) => o.resource === resource).length;
    // Listed objects (add) + every recorded event, each once.
    expect([seen('deployment'), seen('pod'), seen('endpointslice')]).toEqual([1 + 1, 2 + 9, 1 + 4]);
  });

  it('finds the endpoint that left rotation in time and the one that left after its pod stopped serving', () => {
    const analysis = analyzeRollout(watch.observations, rolloutStartsAt);
    const [a, b] = analysis.oldPods;
    expect(a).toMatchObject({ pod: 'shop-old-a', ok: true, leftRotationBy: 'terminating' });
    expect(a?.headroomMs).toBeGreaterThan(0);
    expect(b).toMatchObject({ pod: 'shop-old-b', ok: false, leftRotationBy: 'ready: false' });
    expect(b?.problem).toMatch(/^its endpoint left rotation \d+ ms after the pod stopped serving$/);
    expect(analysis.newPods.map((p) => p.pod)).toEqual(['shop-new-a', 'shop-new-b']);
    expect(analysis.summary).toMatchObject({
      endpointsLeftLate: 1,
      podsKilledAfterGrace: 1,
      podsExitedNonZero: 0,
      restarts: 0,
    });
    expect(analysis.summary.timeToReadyMs?.count).toBe(2);
    expect(analysis.summary.terminationMs?.count).toBe(2);
  });

  it('reports the figures simulate reports and fails on a late endpoint even with no failed request', () => {
    const report = buildReport({
      context: 'kind-test',
      namespace: 'shop',
      deployment: 'shop',
      service: 'shop',
      rollouts: 1,
      load: { sent: 500, ok: 500, failed: 0, errors: {} },
      watchRestarts: watch.restarts,
      analysis: analyzeRollout(watch.observations, rolloutStartsAt),
      warnings: [],
    });
    expect(report.passed).toBe(false);
    expect(Object.keys(report.summary).sort()).toEqual(
      [
        'drainAfterSigtermMs',
        'endpointsLeftLate',
        'failedRequests',
        'podsExitedNonZero',
        'podsKilledAfterGrace',
        'restarts',
        'terminationMs',
        'timeToReadyMs',
      ].sort(),
    );
    const text = formatReport(report);
    expect(text).toContain('FAILED');
    expect(text).toContain('requests       500 sent, 0 failed');
    expect(text).toMatch(
      /shop-old-b .*LATE: its endpoint left rotation \d+ ms after the pod stopped serving/,
    );
    expect(text).toContain('watch          2 informer restarts');
  });

  it('counts a load with failed requests as a failure, and no load summary as one too', () => {
    const base = {
      context: 'kind-test',
      namespace: 'shop',
      deployment: 'shop',
      service: 'shop',
      rollouts: 1,
      watchRestarts: [],
      analysis: {
        oldPods: [],
        newPods: [],
        summary: { endpointsLeftLate: 0, podsKilledAfterGrace: 0, podsExitedNonZero: 0, restarts: 0 },
      },
      warnings: [],
    };
    expect(buildReport({ ...base, load: { sent: 10, ok: 10, failed: 0, errors: {} } }).passed).toBe(true);
    expect(
      buildReport({ ...base, load: { sent: 10, ok: 9, failed: 1, errors: { ECONNREFUSED: 1 } } }).passed,
    ).toBe(false);
    const silent = buildReport(base);
    expect(silent.passed).toBe(false);
    expect(silent.warnings).toContain('the load Job printed no summary: requests were not counted');
  });
});

describe('live: the cluster must be named', () => {
  it('refuses to run without --context (the current context is never used by itself), touching no API', async () => {
    const before = api.requests.length;
    const result = spawnSync(
      process.execPath,
      ['--conditions=@tether/source', join(import.meta.dirname, '..', 'src', 'cli.ts'), 'live', 'charts/api'],
      { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig } },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--context is required');
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t), stdin: () => '' };
    expect(await runLive(['charts/api', '--kubeconfig', kubeconfig, '--context', 'staging'], io)).toBe(2);
    expect(err.join('\n')).toContain(
      'context "staging" is not in the kubeconfig (contexts: kind-test, production)',
    );
    expect(api.requests.length).toBe(before);
  });
});

describe('live: the whole command against the fake API server (--skip-install)', () => {
  const deploymentPath = '/apis/apps/v1/namespaces/shop/deployments/shop';
  const podsPath = '/api/v1/namespaces/shop/pods';
  let server: FakeApiServer;
  const posted: Record<string, unknown>[] = [];
  const patched: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const rolledOut = (elapsed: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop', namespace: 'shop', generation: 2 },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'shop' } },
        template: { metadata: { labels: { app: 'shop' } } },
      },
      status:
        elapsed >= lastEventAt
          ? { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }
          : { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
    });
    // The same rollout without the watch faults (the tests above cover those): every event is
    // observed when it happens, so the verdicts do not depend on a restart's backlog.
    const faultless = recordedRollout.map(
      ({ failWatches: _f, cutFirstWatchAt: _c, ...resource }) => resource,
    );
    server = await startFakeApiServer(faultless, {
      // The recorded rollout begins when the restart arrives, as a real one does.
      clockStartsOn: (method, url) => method === 'PATCH' && url.pathname === deploymentPath,
      routes: [
        {
          method: 'GET',
          match: (url) => url.pathname === '/api/v1/namespaces/shop/services',
          answer: () => ({
            status: 200,
            json: {
              kind: 'ServiceList',
              apiVersion: 'v1',
              metadata: {},
              items: [
                {
                  metadata: { name: 'shop', namespace: 'shop' },
                  spec: { selector: { app: 'shop' }, ports: [{ port: 80, targetPort: 'http' }] },
                },
              ],
            },
          }),
        },
        {
          method: 'POST',
          match: (url) => url.pathname === '/apis/batch/v1/namespaces/shop/jobs',
          answer: (body) => {
            posted.push(JSON.parse(body));
            return { status: 201, json: JSON.parse(body) };
          },
        },
        {
          method: 'GET',
          match: (url) =>
            url.pathname === podsPath &&
            (url.searchParams.get('labelSelector') ?? '').startsWith('job-name='),
          answer: () => ({
            status: 200,
            json: {
              kind: 'PodList',
              apiVersion: 'v1',
              metadata: {},
              items: [{ metadata: { name: 'load-pod', namespace: 'shop' }, status: { phase: 'Running' } }],
            },
          }),
        },
        {
          method: 'PATCH',
          match: (url) => url.pathname === deploymentPath,
          answer: (body) => (patched.push(JSON.parse(body)), { status: 200, json: rolledOut(0) }),
        },
        {
          method: 'GET',
          match: (url) => url.pathname === deploymentPath,
          answer: (_b, _u, elapsed) => ({ status: 200, json: rolledOut(elapsed) }),
        },
        {
          method: 'GET',
          match: (url) => url.pathname.startsWith('/apis/batch/v1/namespaces/shop/jobs/'),
          answer: () => ({ status: 200, json: { metadata: { name: 'load' }, status: { succeeded: 1 } } }),
        },
        {
          method: 'GET',
          match: (url) => url.pathname === `${podsPath}/load-pod/log`,
          answer: () => ({
            status: 200,
            text: 'CHART_VERIFY_LOAD {"sent":300,"ok":297,"failed":3,"errors":{"ECONNREFUSED":3}}\n',
          }),
        },
        {
          method: 'DELETE',
          match: (url) => url.pathname.startsWith('/apis/batch/v1/namespaces/shop/jobs/'),
          answer: () => ({ status: 200, json: { kind: 'Status', status: 'Success' } }),
        },
      ],
    });
  });
  afterAll(async () => server?.close());

  it('loads the Service from a Job, restarts the Deployment, reads the load summary, reports and exits 1', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => undefined, stdin: () => '' };
    const kubeconfigFile = server.writeKubeconfig(mkdtempSync(join(work, 'full-')), 'kind-test');
    const json = join(work, 'live.json');
    const args = ['--skip-install', '--kubeconfig', kubeconfigFile, '--context', 'kind-test', '-n', 'shop'];
    const status = await runLive(
      [...args, '--duration', '1s', '--rate', '300', '--timeout', '30s', '--json', json],
      io,
    );
    expect(status).toBe(1);
    const job = posted[0] as {
      spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
    };
    expect(job.spec.template.spec.containers[0]?.env).toContainEqual({
      name: 'TARGET_URL',
      value: 'http://shop.shop.svc:80/',
    });
    expect(JSON.stringify(patched[0])).toContain('kubectl.kubernetes.io/restartedAt');
    expect(
      server.requests.some((r) =>
        r.startsWith('DELETE /apis/batch/v1/namespaces/shop/jobs/chart-verify-load-'),
      ),
    ).toBe(true);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.summary).toMatchObject({
      failedRequests: 3,
      endpointsLeftLate: 1,
      podsKilledAfterGrace: 1,
    });
    expect(report.analysis.oldPods.map((p: { pod: string; ok: boolean }) => [p.pod, p.ok])).toEqual([
      ['shop-old-a', true],
      ['shop-old-b', false],
    ]);
    expect(out.join('\n')).toContain('requests       300 sent, 3 failed (ECONNREFUSED x3)');
  });
});
