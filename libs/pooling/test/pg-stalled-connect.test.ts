import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { canDropPackets, EphemeralPostgres, FaultProxy } from '@tether/devstack';
import { classify } from '@tether/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../src/index.ts';
import type { TetherClient } from '../src/pg-client.ts';
import { StalledConnectError, StalledConnects } from '../src/pg-stalled-connects.ts';
import { CaptureLogger } from './capture-logger.ts';
import { createHarness, type Harness } from './otel-harness.ts';
import { createInsertTable } from './pg-writes.ts';

// The path heals this long after the call's connect started. The kernel here resends a lost SYN
// 1, 2, 3, 4 and 5 s after the first (tcp_syn_linear_timeouts = 4), then doubles its timeout: the
// next retransmission after 5.2 s is due at 7 s (measured: the control's INSERT lands 1.7-1.9 s
// after the heal), so for 1.8 s after the heal only a connect the pool opened anew can get through.
const HEAL_AFTER_MS = 5_200;

let server: EphemeralPostgres;
let proxy: FaultProxy | undefined;
let nextId = 0;
let h: Harness;

beforeAll(async () => {
  h = createHarness();
  server = await EphemeralPostgres.start();
  await createInsertTable(server, 'stalled_writes');
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

afterAll(async () => {
  await h?.close();
  await server?.close();
});

/** What one INSERT through a healed blackhole showed. */
interface Outcome {
  /** When the connection that served the INSERT was created, and when the path healed. */
  servedByConnectionFrom: number;
  healedAt: number;
  log: string;
  inOutage: boolean;
}

/**
 * One non-idempotent INSERT sent while new connections are blackholed (its connect's SYN is
 * dropped), the path healed HEAL_AFTER_MS later, on a fresh pool allowed one attempt per call. The
 * INSERT must succeed on one checkout and land exactly once; what else it showed is returned.
 */
async function insertThroughOutage(stalledConnectMs?: number): Promise<Outcome> {
  proxy = await FaultProxy.start({ targetPort: server.port });
  const logger = new CaptureLogger();
  const pool = createPgPool({
    connectionString: `postgres://${server.user}:${server.password}@127.0.0.1:${proxy.port}/${server.database}`,
    max: 4,
    connectTimeoutMs: 9_000,
    deadlineMs: 15_000,
    // One attempt: an abandoned connect must cost the call no retry (nor backoff, nor a breaker failure).
    retry: { maxAttempts: 1 },
    logger,
    tracer: h.tracer,
    meter: h.meter,
    ...(stalledConnectMs === undefined ? {} : { stalledConnectMs }),
  });
  // When the connection each checkout got was created (before or after the heal).
  const servedBy: number[] = [];
  pool.pool.on('acquire', (client) => servedBy.push((client as unknown as TetherClient).tether.createdAt));
  h.exporter.reset();
  try {
    const id = nextId++;
    proxy.blackhole({ newConnections: true });
    const insert = pool.query('INSERT INTO stalled_writes (id) VALUES ($1)', [id]);
    await sleep(HEAL_AFTER_MS);
    await proxy.heal();
    const healedAt = performance.now();
    await insert;
    expect(servedBy).toHaveLength(1);
    const rows = await server.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM stalled_writes WHERE id = ${id}`,
    );
    expect(rows[0]?.n, 'the INSERT landed exactly once').toBe(1);
    return {
      servedByConnectionFrom: servedBy[0] as number,
      healedAt,
      log: logger.text,
      inOutage: pool.outage.inOutage,
    };
  } finally {
    await pool.drain(2_000);
  }
}

describe('a connect whose SYN was dropped, when the path heals', () => {
  it('drops SYNs in the kernel (nftables), so the connect waits for a retransmission', () => {
    expect(canDropPackets()).toBe(true);
  });

  it('the waiting INSERT runs on a connection opened after the heal, once, without a retry', async () => {
    const outcome = await insertThroughOutage();
    expect(
      outcome.servedByConnectionFrom,
      'the connection that served the INSERT was opened after the heal',
    ).toBeGreaterThan(outcome.healedAt);
    expect(outcome.log).toContain('re-dialling them');
    // Abandoning a connect because the server answered a newer one is no outage of the server.
    expect(outcome.inOutage).toBe(false);
    expect(h.exporter.getFinishedSpans().filter((s) => s.name === 'outage postgres')).toHaveLength(0);
  });

  it('CONTROL: with stalledConnectMs 0 the INSERT waits for the kernel to resend the SYN of its first connect', async () => {
    const outcome = await insertThroughOutage(0);
    expect(
      outcome.servedByConnectionFrom,
      'the connection that served the INSERT was opened before the heal',
    ).toBeLessThan(outcome.healedAt);
    expect(outcome.log).not.toContain('re-dialling');
  });

  it('abandons only a connect still in the TCP handshake, once a probe got through', async () => {
    // The probes' target: a listener that accepts connections and never says a word.
    const silent = net.createServer();
    const accepted = new Set<net.Socket>();
    silent.on('connection', (s) => accepted.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    // A connect whose SYN the kernel drops, and one past its handshake waiting for a server that
    // does not answer (as pg waits for authentication).
    proxy = await FaultProxy.start({ targetPort: server.port });
    proxy.blackhole({ newConnections: true });
    const stalled = net.connect({ host: '127.0.0.1', port: proxy.port });
    const stalledError = new Promise<unknown>((resolve) => stalled.once('error', resolve));
    const waiting = net.connect({ host: '127.0.0.1', port });
    await once(waiting, 'connect');
    const asClient = (socket: net.Socket) => ({ connection: { stream: socket } }) as unknown as TetherClient;
    const redialled: number[] = [];
    const watch = new StalledConnects({
      host: '127.0.0.1',
      port,
      afterMs: 50,
      redialled: (n) => redialled.push(n),
    });
    try {
      watch.started(asClient(stalled));
      watch.started(asClient(waiting));
      const error = await stalledError;
      expect(error).toBeInstanceOf(StalledConnectError);
      expect(redialled).toEqual([1]);
      expect(accepted.size, 'the probe got through (and the waiting connect)').toBeGreaterThanOrEqual(2);
      expect(waiting.destroyed).toBe(false);
      expect(waiting.writable).toBe(true);
    } finally {
      watch.close();
      stalled.destroy();
      waiting.destroy();
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('an abandoned connect is an error that says nothing was sent, so a write may retry it', () => {
    const error = new StalledConnectError(1_234);
    expect(error.message).toContain('1234 ms in the TCP handshake');
    expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always' });
  });

  it('rejects a probe interval too short to be sane, naming the option', () => {
    expect(() => createPgPool({ host: '127.0.0.1', user: 'x', stalledConnectMs: 10 })).toThrow(
      /stalledConnectMs must be 0 \(off\) or at least 50/,
    );
  });
});
