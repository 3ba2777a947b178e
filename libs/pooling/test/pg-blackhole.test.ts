import { setTimeout as sleep } from 'node:timers/promises';
import { canDropPackets, EphemeralPostgres, FaultProxy } from '@tether/devstack';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type PgEvictionEvent, type TetherPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually, steadyLoad, warm } from './load.ts';
import { createInsertTable, InsertLedger, reconcileInserts } from './pg-writes.ts';

// Short timers so the suite stays quick; the mechanisms are the production ones.
const KEEPALIVE_MS = 1_000;
const DEADLINE_MS = 3_000;
// Node's keepalive: first probe after KEEPALIVE_MS idle, then 10 probes 1 s apart (libuv).
const KEEPALIVE_DETECTION_MS = KEEPALIVE_MS + 10 * 1_000;

let server: EphemeralPostgres;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await createInsertTable(server, 'next_writes');
  await createInsertTable(server, 'load_writes');
});

afterEach(async () => {
  await proxy?.close();
});

afterAll(async () => {
  await server?.close();
});

function viaProxy(): string {
  return `postgres://${server.user}:${server.password}@127.0.0.1:${proxy.port}/${server.database}`;
}

/** Five connections through the proxy, validated on checkout after 200 ms idle, 3 s deadline. */
function validatingPool(logger = new CaptureLogger()): TetherPgPool {
  return createPgPool({
    connectionString: viaProxy(),
    max: 5,
    // The warm-up opens all five at once; with the default gate (2) a slow machine reuses a
    // connection instead, and the scenario starts with fewer idle connections than it counts.
    maxConnecting: 5,
    keepAliveInitialDelayMs: KEEPALIVE_MS,
    validateIdleAfterMs: 200,
    validationTimeoutMs: 500,
    deadlineMs: DEADLINE_MS,
    logger,
  });
}

describe('established idle connections silently blackholed (no FIN, no RST)', () => {
  it('drops packets in the kernel, so keepalive probes go unanswered', () => {
    // The scenario needs nftables (root); without it the kernel would still ACK probes.
    expect(canDropPackets()).toBe(true);
  });

  it('the next operation completes on a fresh connection within its deadline', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const logger = new CaptureLogger();
    const pool = validatingPool(logger);
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      const oldPids = await warm(pool, 5);
      expect(new Set(oldPids).size).toBe(5);
      await sleep(300);
      proxy.blackhole();
      const startedAt = performance.now();
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const elapsed = performance.now() - startedAt;
      expect(elapsed).toBeLessThan(DEADLINE_MS);
      expect(oldPids).not.toContain(rows[0]?.pid);
      // One ping paid the timeout; its idle siblings were replaced without a ping each.
      expect(evictions.filter((e) => e.reason === 'validation_failed')).toHaveLength(1);
      expect(evictions.filter((e) => e.reason === 'condemned')).toHaveLength(4);
      expect(logger.text).toContain('failed validation');
    } finally {
      await pool.drain(2_000);
    }
  });

  it('the next non-idempotent INSERTs after the blackhole each land exactly once, none fails', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const pool = validatingPool();
    try {
      await warm(pool, 5);
      await sleep(300);
      proxy.blackhole();
      // Every pooled connection is dead: the validation ping finds out before an INSERT is sent on one.
      const ledger = new InsertLedger();
      await Promise.all(
        Array.from({ length: 5 }, () =>
          ledger.write((id) => pool.query('INSERT INTO next_writes VALUES ($1)', [id])),
        ),
      );
      const r = await reconcileInserts(server, 'next_writes', ledger.outcomes);
      expect(r).toMatchObject({ ok: 5, notSent: 0, unknown: 0, rows: 5 });
    } finally {
      await pool.drain(2_000);
    }
  });

  it('blackholed under ~50 INSERTs/s: no write applied twice, at most one in doubt per dead connection, the rest succeed', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const pool = validatingPool();
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      await warm(pool, 5);
      const ledger = new InsertLedger();
      const load = steadyLoad(
        () => ledger.write((id) => pool.query('INSERT INTO load_writes VALUES ($1)', [id])),
        50,
      );
      await sleep(1_000);
      // Mid-load: INSERTs in flight on these connections may or may not have reached the server.
      const dead = proxy.connectionCount;
      proxy.blackhole();
      await sleep(DEADLINE_MS + 1_500);
      await load.stop();
      const r = await reconcileInserts(server, 'load_writes', ledger.outcomes);
      // A write sent on a connection that then went silent hits its deadline: reported, never
      // re-sent. Writes queued behind those until their own deadline fail too (a deadline error
      // does not claim "nothing sent", so they count as outcome unknown), but only a write that was
      // sent can have landed: each connection carries one statement at a time, so at most one
      // landed write in doubt per dead connection.
      // The blackhole really hit the pool: its connections were found dead and replaced. (Whether
      // an INSERT happened to be in flight at that instant depends on timing: r.unknown may be 0.)
      expect(evictions.length).toBeGreaterThan(0);
      expect(r.unknownApplied, JSON.stringify(r)).toBeLessThanOrEqual(dead);
      expect(r.ok).toBeGreaterThan(60);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('dead idle sockets are evicted within the keepalive detection time', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const pool = createPgPool({
      connectionString: viaProxy(),
      max: 5,
      keepAliveInitialDelayMs: KEEPALIVE_MS,
      logger: new CaptureLogger(),
    });
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      await warm(pool, 5);
      expect(pool.pool.totalCount).toBe(5);
      proxy.blackhole();
      const blackholedAt = performance.now();
      const evicted = await eventually(() => pool.pool.totalCount === 0, KEEPALIVE_DETECTION_MS + 4_000, 100);
      expect(evicted).toBe(true);
      expect(performance.now() - blackholedAt).toBeLessThan(KEEPALIVE_DETECTION_MS + 4_000);
      expect(evictions.map((e) => e.reason)).toEqual(Array(5).fill('idle_error'));
    } finally {
      await pool.drain(2_000);
    }
  });

  it('CONTROL: a plain new pg.Pool() with default options hangs past that deadline', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const pool = new pg.Pool({ connectionString: viaProxy() });
    pool.on('error', () => {});
    try {
      await pool.query('SELECT 1');
      proxy.blackhole();
      let settled = false;
      const query = pool.query('SELECT 1').then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await sleep(DEADLINE_MS + 500);
      expect(settled).toBe(false);
      // Clean up: forgetting the blackholed connection makes the next retransmission meet a RST.
      await proxy.heal();
      await query;
    } finally {
      await pool.end();
    }
  });
});
