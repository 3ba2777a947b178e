import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@tether/devstack';
import {
  KubeletPod,
  LoadBalancer,
  RollingDeployment,
  Timeline,
  type HttpGetProbe,
  type KubeletPodOptions,
} from '../src/index.ts';

const fixture = new URL('./fixtures/pod-server.ts', import.meta.url).pathname;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

// Short periods; thresholds and timeouts loose enough that a busy machine does not flap readiness.
const fast = { periodMs: 100, timeoutMs: 2_000, failureThreshold: 3, successThreshold: 1 };

async function podOptions(id: string, extra: Partial<KubeletPodOptions> = {}) {
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const readinessProbe: HttpGetProbe = { ...fast, path: '/readyz', port: adminPort };
  return {
    port,
    adminPort,
    options: {
      container: {
        command: process.execPath,
        args: [fixture],
        env: {
          POD_ID: id,
          PORT: String(port),
          ADMIN_PORT: String(adminPort),
          ON_SIGTERM: 'drain',
          DRAIN_MS: '200',
        },
      },
      port,
      readinessProbe,
      terminationGracePeriodMs: 5_000,
      ...extra,
    },
  };
}

describe('RollingDeployment', () => {
  it('maxSurge 0 / maxUnavailable 1: never more than 3 pods, never fewer than 2 ready, every pod replaced', async () => {
    const loadBalancer = await LoadBalancer.start({ propagationDelayMs: 100 });
    cleanup.push(() => loadBalancer.close());
    const deployment = await RollingDeployment.start({
      loadBalancer,
      replicas: 3,
      maxSurge: 0,
      maxUnavailable: 1,
      template: async (id) => {
        const { port, options } = await podOptions(id);
        return { pod: options, endpoint: { host: '127.0.0.1', port } };
      },
    });
    cleanup.push(() => deployment.kill());
    const first = deployment.pods.map((p) => p.id);
    let maxPods = 0;
    let minReady = Infinity;
    const sampler = setInterval(() => {
      maxPods = Math.max(maxPods, deployment.pods.length);
      minReady = Math.min(minReady, deployment.pods.filter((p) => p.ready).length);
    }, 5);
    await deployment.rollout();
    clearInterval(sampler);
    await deployment.settled();
    expect(maxPods).toBe(3);
    expect(minReady).toBe(2);
    expect(deployment.pods.map((p) => p.id).filter((id) => first.includes(id))).toEqual([]);
    const terminated = deployment.records.filter((r) => r.termination);
    expect(terminated.map((r) => r.id).sort()).toEqual([...first].sort());
    for (const r of terminated) expect(r.termination).toMatchObject({ code: 0, killed: false });
  }, 60_000);

  it('refuses maxSurge 0 with maxUnavailable 0', async () => {
    const loadBalancer = await LoadBalancer.start();
    cleanup.push(() => loadBalancer.close());
    await expect(
      RollingDeployment.start({
        loadBalancer,
        replicas: 1,
        maxSurge: 0,
        maxUnavailable: 0,
        template: () => {
          throw new Error('not reached');
        },
      }),
    ).rejects.toMatchObject({ code: 'TETHER_ROLLOUT_INVALID_OPTION' });
  });
});

describe('KubeletPod', () => {
  async function readyPod(extra: Partial<KubeletPodOptions> = {}) {
    const timeline = new Timeline();
    const { options } = await podOptions('kp', extra);
    const pod = new KubeletPod({ ...options, id: 'kp', timeline });
    cleanup.push(() => pod.kill());
    while (!pod.ready) await sleep(20);
    return { pod, timeline };
  }

  it('runs an exec preStop (`sleep 1`) to its end before SIGTERM', async () => {
    const { pod, timeline } = await readyPod({ preStop: { exec: { command: 'sleep', args: ['1'] } } });
    const termination = await pod.terminate();
    expect(termination.preStopMs).toBeGreaterThanOrEqual(1_000);
    expect(termination.afterSigtermMs).toBeDefined();
    expect(termination).toMatchObject({ code: 0, killed: false });
    expect(pod.output).toContain('got SIGTERM');
    const kinds = timeline.events.map((e) => e.kind);
    expect(kinds.indexOf('prestop-done')).toBeLessThan(kinds.indexOf('terminated'));
  }, 60_000);

  it('SIGKILLs a container whose preStop outlives the grace period, without SIGTERM', async () => {
    const { pod } = await readyPod({
      preStop: { exec: { command: 'sleep', args: ['30'] } },
      terminationGracePeriodMs: 1_000,
    });
    const termination = await pod.terminate();
    expect(termination).toMatchObject({ killed: true, signal: 'SIGKILL' });
    expect(termination.afterSigtermMs).toBeUndefined();
    expect(pod.output).not.toContain('got SIGTERM');
  }, 60_000);

  it('restarts the container when liveness fails, once its startup probe passed', async () => {
    const timeline = new Timeline();
    const { options, adminPort } = await podOptions('live');
    const pod = new KubeletPod({
      ...options,
      id: 'live',
      timeline,
      restartBackoffMs: 100,
      // Liveness only starts after the startup probe passed, as in Kubernetes.
      startupProbe: { ...fast, failureThreshold: 600, path: '/readyz', port: adminPort },
      livenessProbe: { ...fast, failureThreshold: 2, path: '/fail', port: adminPort },
    });
    cleanup.push(() => pod.kill());
    const count = (kind: string): number => timeline.events.filter((e) => e.kind === kind).length;
    while (count('startup-passed') < 2) await sleep(20);
    expect(count('liveness-failed')).toBeGreaterThanOrEqual(1);
    expect(pod.restarts).toBeGreaterThanOrEqual(1);
    expect(count('started')).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
