/**
 * Two gateway processes behind a Service (rollout-sim's kube-proxy stand-in); one gets SIGTERM while
 * a job is followed: its clients get 1012, reconnect through the Service to the other gateway,
 * resume with `after`, and every client ends with every event exactly once, in order.
 */
import { startApp, type AppProcess } from '@tether/devstack';
import { LoadBalancer } from '@tether/rollout-sim';
import { WsClient } from '@tether/ws-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newJob, range, relay, runJob, SECRET, type Stack, startStack, token } from './support.ts';

const entry = new URL('../src/main.ts', import.meta.url).pathname;
let stack: Stack;
let lb: LoadBalancer;
const gateways: AppProcess[] = [];

beforeAll(async () => {
  stack = await startStack();
  const env = {
    DATABASE_URL: stack.postgres.url,
    REDIS_URL: stack.redis.url,
    AUTH_JWT_SECRET: SECRET,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '3000',
  };
  gateways.push(...(await Promise.all([startApp(entry, env), startApp(entry, env)])));
  await Promise.all(gateways.map((g) => g.ready('/readyz', 90_000)));
  lb = await LoadBalancer.start({ probePeriodMs: 200, propagationDelayMs: 200 });
  gateways.forEach((g, i) =>
    lb.addEndpoint({
      id: `gw-${i}`,
      host: '127.0.0.1',
      port: g.port,
      readinessUrl: `http://127.0.0.1:${g.adminPort}/readyz`,
    }),
  );
  await new Promise((r) => setTimeout(r, 1_000)); // both endpoints probed ready
}, 180_000);

afterAll(async () => {
  await lb?.close();
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  await stack?.close();
});

it('SIGTERM to one of two gateways mid-job: its clients get 1012, resume on the other, and every client gets every event once', async () => {
  const jobId = await newJob(stack, 'alice');
  const bearer = await token('alice');
  const clients = range(1, 10).map(() => {
    const client = new WsClient({ url: `ws://127.0.0.1:${lb.port}/v1/stream`, token: () => bearer });
    const seen = { ids: [] as number[], closes: [] as (number | undefined)[] };
    client.on('event', (event) => seen.ids.push(Number(event.id)));
    client.on('disconnected', (info) => seen.closes.push(info.code));
    client.subscribe(jobId);
    return { client, seen };
  });
  try {
    await until(() => clients.every((c) => c.seen.ids.includes(1)), 'every client subscribed');
    const work = runJob(stack, jobId, 30, {}, async () => {
      await relay(stack);
      await new Promise((r) => setTimeout(r, 50));
    });
    await until(() => clients.some((c) => c.seen.ids.length >= 5), 'events flowing');
    // The kubelet's order: the endpoint is marked terminating, then SIGTERM.
    lb.markTerminating('gw-0');
    const exit = gateways[0]!.stop('SIGTERM');
    await work;
    await relay(stack);
    expect(await exit).toBe(0);
    const last = 32; // queued, running, 30 progress, succeeded = 33 events
    await until(() => clients.every((c) => c.seen.ids.includes(last + 1)), 'every client got succeeded');
    for (const { seen } of clients) expect(seen.ids).toEqual(range(1, last + 1));
    const closes = clients.flatMap((c) => c.seen.closes);
    expect(closes).toContain(1012);
    expect(closes).not.toContain(1006);
  } finally {
    await Promise.all(clients.map((c) => c.client.close()));
  }
});

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
