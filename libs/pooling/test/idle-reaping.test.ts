import { spawn } from 'node:child_process';
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInsertTable, type InsertOutcomes, reconcileInserts } from './pg-writes.ts';

const fixture = new URL('./fixtures/idle-reaping.ts', import.meta.url).pathname;

interface Report {
  ok: number;
  errors: number;
  /** Errors in the last wave, sent after a 2.5 s event-loop block on sessions already reaped. */
  lastWaveErrors: number;
  sample: string[];
  uncaught: number;
  /** pg-tether-writes only. */
  ids: InsertOutcomes;
}

function runChild(
  mode: string,
  url: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@tether/source', fixture, mode, url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function report(stdout: string): Report {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Report;
}

// The children mostly sleep (waves of queries ~1 s apart): running them side by side halves the wait.
describe.concurrent('server-side idle reaping: Postgres idle_session_timeout = 1 s', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start({ settings: { idle_session_timeout: '1s' } });
    await createInsertTable(server, 'reaping_writes');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('createPgPool: 0 errors reach the caller, no crash, no unhandled error event', async () => {
    const { code, stdout, stderr } = await runChild('pg-tether', server.url);
    expect(code, stderr).toBe(0);
    const r = report(stdout);
    expect(r.errors, r.sample.join('; ')).toBe(0);
    expect(r.ok).toBe(300);
    expect(r.uncaught).toBe(0);
  });

  it('createPgPool, non-idempotent INSERTs: no write applied twice, every write succeeded or its caller got an error', async () => {
    const { code, stdout, stderr } = await runChild('pg-tether-writes', server.url);
    expect(code, stderr).toBe(0);
    const r = report(stdout);
    expect(r.uncaught).toBe(0);
    // The first write before the waves, then 10 waves of 30.
    expect(r.ok + r.errors).toBe(300);
    const ledger = await reconcileInserts(server, 'reaping_writes', r.ids);
    expect(ledger.ok + ledger.notSent + ledger.unknown).toBe(301);
    // An INSERT meeting a session the server is reaping cannot be retried (it was sent), so unlike
    // reads it may fail; what matters is that it is reported and never applied twice. Validation
    // of connections idle >= 1 s keeps those rare: most writes succeed.
    expect(ledger.ok, r.sample.join('; ')).toBeGreaterThan(200);
  });

  it('CONTROL: a raw pg.Pool without an error listener crashes', async () => {
    const { code, stderr } = await runChild('pg-raw-no-handler', server.url);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/idle-session timeout|57P05/);
  });

  it('CONTROL: a raw pg.Pool with an error listener lets reaped connections fail queries', async () => {
    const { code, stdout, stderr } = await runChild('pg-raw-handler', server.url);
    expect(code, stderr).toBe(0);
    // The timed waves fail some queries when the machine's timing lets them; the last wave fails
    // whatever the load: it goes out on sessions the server closed while the process was blocked.
    expect(report(stdout).lastWaveErrors).toBeGreaterThan(0);
  });
});

describe('server-side idle reaping: Redis timeout = 1 s', () => {
  let server: EphemeralRedis;
  beforeAll(async () => {
    server = await EphemeralRedis.start({ settings: { timeout: 1 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('createRedis: 0 errors reach the caller, no crash, no unhandled error event', async () => {
    const { code, stdout, stderr } = await runChild('redis-tether', server.url);
    expect(code, stderr).toBe(0);
    const r = report(stdout);
    expect(r.errors, r.sample.join('; ')).toBe(0);
    expect(r.ok).toBe(300);
    expect(r.uncaught).toBe(0);
  });
});
