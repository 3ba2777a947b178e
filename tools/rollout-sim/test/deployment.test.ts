import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Deployment, LoadBalancer, runLoad, type PodSpec } from '../src/index.ts';

const fixture = new URL('./fixtures/pod-server.ts', import.meta.url).pathname;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function template(onSigterm: string, extra: Record<string, string> = {}) {
  return ({ id, port, adminPort }: { id: string; port: number; adminPort: number }): PodSpec => ({
    command: process.execPath,
    args: [fixture],
    env: { POD_ID: id, PORT: String(port), ADMIN_PORT: String(adminPort), ON_SIGTERM: onSigterm, ...extra },
  });
}

async function setup(
  onSigterm: string,
  options: {
    preStopSleepMs?: number;
    terminationGracePeriodMs?: number;
    extra?: Record<string, string>;
  } = {},
) {
  const loadBalancer = await LoadBalancer.start({ probePeriodMs: 200, propagationDelayMs: 200 });
  cleanup.push(() => loadBalancer.close());
  const deployment = await Deployment.start({
    loadBalancer,
    template: template(onSigterm, options.extra),
    replicas: 2,
    name: onSigterm,
    ...options,
  });
  cleanup.push(() => Promise.all(deployment.pods.map((pod) => pod.kill())));
  return { loadBalancer, deployment };
}

describe('Deployment', () => {
  it('starts the replicas behind the Service', async () => {
    const { loadBalancer, deployment } = await setup('exit');
    expect(deployment.pods).toHaveLength(2);
    expect(loadBalancer.endpoints().every((e) => e.routable)).toBe(true);
  });

  it('deletes a pod the kubelet way: preStop sleep, then SIGTERM', async () => {
    const { deployment } = await setup('exit', { preStopSleepMs: 400 });
    const [pod] = deployment.pods;
    const result = await deployment.deletePod(pod!.id);
    expect(result).toMatchObject({ code: 0, killed: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(400);
    expect(pod!.output).toContain('got SIGTERM');
  });

  it('SIGKILLs a pod that ignores SIGTERM when the grace period (which includes preStop) runs out', async () => {
    const { deployment } = await setup('ignore', { preStopSleepMs: 200, terminationGracePeriodMs: 1000 });
    const [pod] = deployment.pods;
    const result = await deployment.deletePod(pod!.id);
    expect(result).toMatchObject({ signal: 'SIGKILL', killed: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(1000);
    expect(pod!.output).toContain('got SIGTERM');
  });

  it('rolls every pod with maxSurge 1 / maxUnavailable 0: the Service never runs out of endpoints', async () => {
    const { loadBalancer, deployment } = await setup('drain', { extra: { DRAIN_MS: '600' } });
    const before = deployment.pods.map((p) => p.id);
    // The load lasts as long as the rollout does: pod start-up takes seconds on a busy machine.
    const stop = new AbortController();
    const load = runLoad({
      url: loadBalancer.url,
      ratePerSec: 100,
      durationMs: 600_000,
      signal: stop.signal,
    });
    const report = await deployment.rollingRestart();
    await sleep(500);
    stop.abort();
    const traffic = await load;
    expect(report.terminations.map((t) => t.id).sort()).toEqual(before.sort());
    expect(report.terminations.every((t) => t.code === 0 && !t.killed)).toBe(true);
    expect(deployment.pods.map((p) => p.id)).not.toContain(before[0]);
    expect(deployment.pods).toHaveLength(2);
    expect(loadBalancer.stats.noEndpoint).toBe(0);
    expect(traffic.failed).toBe(0);
    expect(Object.keys(traffic.byResponder).length).toBeGreaterThanOrEqual(3);
  });

  it('the same rollout with pods that exit on SIGTERM loses requests (the control)', async () => {
    const { loadBalancer, deployment } = await setup('exit');
    const stop = new AbortController();
    const load = runLoad({
      url: loadBalancer.url,
      ratePerSec: 200,
      durationMs: 600_000,
      maxSockets: 8,
      signal: stop.signal,
    });
    await deployment.rollingRestart();
    await sleep(500);
    stop.abort();
    const traffic = await load;
    expect(traffic.failed).toBeGreaterThan(0);
  });
});
