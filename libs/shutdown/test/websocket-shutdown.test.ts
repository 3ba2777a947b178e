import { Deployment, LoadBalancer, type PodContext } from '@tether/rollout-sim';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { fixtureCommand, startFixture } from './support/fixture-process.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface ClientResult {
  code: number;
  at: number;
  /** The pod a reconnect through the Service reached. */
  reconnectedTo: string;
}

function podOf(ws: WebSocket): Promise<string> {
  return once(ws, 'message').then(([data]) => (JSON.parse(String(data)) as { pod: string }).pod);
}

describe('WebSocket shutdown', () => {
  it('closes 200 clients with 1012 (none 1006), spread over the window; reconnects reach the other replica', async () => {
    const loadBalancer = await LoadBalancer.start({ probePeriodMs: 200, propagationDelayMs: 200 });
    cleanup.push(() => loadBalancer.close());
    const deployment = await Deployment.start({
      loadBalancer,
      name: 'ws',
      template: ({ id, port, adminPort }: PodContext) => ({
        ...fixtureCommand('ws-app'),
        env: {
          POD_ID: id,
          PORT: String(port),
          ADMIN_PORT: String(adminPort),
          SHUTDOWN_DRAIN_DELAY_MS: '800',
          SHUTDOWN_TIMEOUT_MS: '5000',
          WS_CLOSE_WINDOW_MS: '500',
        },
      }),
    });
    cleanup.push(() => Promise.all(deployment.pods.map((pod) => pod.kill())));
    const [leaving, staying] = deployment.pods;

    // All 200 on the replica that is about to be deleted.
    const clients = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${leaving!.port}/`);
        expect(await podOf(ws)).toBe(leaving!.id);
        return ws;
      }),
    );
    const results = clients.map(
      (ws) =>
        new Promise<ClientResult>((resolve) => {
          ws.once('close', (code: number) => {
            const at = performance.now();
            // Reconnect through the Service, as a client told "service restart" should.
            const again = new WebSocket(`ws://127.0.0.1:${loadBalancer.port}/`);
            void podOf(again).then((pod) => {
              again.close();
              resolve({ code, at, reconnectedTo: pod });
            });
          });
        }),
    );

    const termination = deployment.deletePod(leaving!.id);
    const closed = await Promise.all(results);
    expect(closed.filter((r) => r.code === 1012)).toHaveLength(200);
    expect(closed.filter((r) => r.code === 1006)).toHaveLength(0);
    expect(new Set(closed.map((r) => r.reconnectedTo))).toEqual(new Set([staying!.id]));
    const times = closed.map((r) => r.at);
    // Jittered over the 500 ms window, not one stampede.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(200);
    expect(await termination).toMatchObject({ code: 0, killed: false });
  });

  it('CONTROL: a ws server that exits on SIGTERM leaves its clients with 1006 (abnormal closure)', async () => {
    const app = await startFixture('naive-ws-app');
    cleanup.push(async () => app.child.kill('SIGKILL'));
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${app.port}/`);
        await podOf(ws);
        return ws;
      }),
    );
    const codes = clients.map((ws) => once(ws, 'close').then(([code]) => code as number));
    app.child.kill('SIGTERM');
    expect(new Set(await Promise.all(codes))).toEqual(new Set([1006]));
  });
});
