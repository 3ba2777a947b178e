import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralPostgres, EphemeralRedis, NatPath } from '@tether/devstack';
import type { ProbeResult, Recommendation } from '../src/index.ts';

const cli = new URL('../src/cli.ts', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function probe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@tether/source', cli, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

type Report = ProbeResult & { verdict: string; recommendations: Recommendation[] };

// Small, fast settings: a 10 s range refined to 1 s, round trips judged dead after 2 s.
const quick = ['--json', '--max-idle', '10s', '--resolution', '1s', '--connections', '8', '--timeout', '2s'];

describe('tether-probe idle', () => {
  let postgres: EphemeralPostgres;
  let redis: EphemeralRedis;
  let natPostgres: NatPath;
  let natRedis: NatPath;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
    natRedis = await NatPath.create({ idleTimeoutS: 3, ports: [redis.port] });
    natPostgres = await NatPath.create({ idleTimeoutS: 7, ports: [postgres.port] });
  });
  afterAll(async () => {
    await natRedis?.close();
    await natPostgres?.close();
    await Promise.all([postgres?.close(), redis?.close()]);
  });

  it('brackets a real NAT idle timeout within 1 s, for Redis (3 s) and Postgres (7 s), and sees keepalive keep the path open', async () => {
    const [viaRedis, viaPostgres] = await Promise.all([
      probe(['idle', natRedis.url(redis.url), ...quick, '--keepalive', '1s']),
      probe(['idle', '--env', 'PROBE_URL', ...quick, '--keepalive', '1s'], {
        PROBE_URL: natPostgres.url(postgres.url),
      }),
    ]);
    for (const [run, timeoutMs] of [
      [viaRedis, 3_000],
      [viaPostgres, 7_000],
    ] as const) {
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as Report;
      // Timers fire a little late on a busy machine: the bracket is judged on the measured idle times.
      expect(report.longestSurvivedMs).toBeLessThanOrEqual(timeoutMs + 150);
      expect(report.shortestDiedMs).toBeGreaterThanOrEqual(timeoutMs - 150);
      expect((report.shortestDiedMs as number) - report.longestSurvivedMs).toBeLessThanOrEqual(1_000);
      expect(report.deaths.map((d) => d.outcome)).toEqual(['silent']);
      expect(report.keepAlive.outcome).toBe('ok');
      expect(report.verdict).toContain('keepalive keeps the path open');
      expect(report.inconsistent).toBe(false);
      const keepAlive = report.recommendations.find((r) => r.setting.includes('keepAliveInitialDelayMs'));
      expect(Number(keepAlive?.value.replace('<= ', ''))).toBeLessThan(timeoutMs);
    }
    expect(viaPostgres.stdout + viaPostgres.stderr).not.toContain(postgres.password);
  });

  it('reports keepalive that is slower than the NAT as not keeping the path open', async () => {
    const run = await probe([
      'idle',
      natRedis.url(redis.url),
      ...quick,
      '--keepalive',
      '5s',
      '--rounds',
      '1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.keepAlive.outcome).toBe('silent');
    expect(report.verdict).toContain('keepalive did NOT keep the path open');
  });

  it('control: on the direct loopback path nothing dies, so no idle timeout is reported', async () => {
    const run = await probe(['idle', redis.url, ...quick, '--max-idle', '4s', '--connections', '3']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.shortestDiedMs).toBeUndefined();
    expect(report.longestSurvivedMs).toBeGreaterThanOrEqual(4_000);
    expect(report.verdict).toContain('No idle timeout found');
  });

  it('tells a server-side idle timeout (the server closes) from a silent drop', async () => {
    const direct = await EphemeralRedis.start();
    try {
      await direct.configSet('timeout', 2);
      const run = await probe([
        'idle',
        direct.url,
        ...quick,
        '--max-idle',
        '6s',
        '--connections',
        '3',
        '--rounds',
        '1',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as Report;
      expect(report.deaths.map((d) => d.outcome)).toEqual(['closed']);
    } finally {
      await direct.close();
    }
  });

  it('prints a human table with the verdict and the recommendation', async () => {
    const run = await probe([
      'idle',
      natRedis.url(redis.url),
      ...quick.slice(1),
      '--keepalive',
      '1s',
      '--rounds',
      '1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Idle timeout between [\d.]+ s \(longest that survived\) and [\d.]+ s/);
    expect(run.stdout).toContain('silent: no reply, no reset');
    expect(run.stdout).toContain('recommendation:');
    expect(run.stderr).toContain('round 1: 8 connections');
  });

  it('rejects bad input with exit 2 and a message naming what is wrong, without echoing credentials', async () => {
    const cases: [string[], RegExp][] = [
      [['idle', 'tcp://127.0.0.1:1'], /scheme must be postgres, postgresql, redis or rediss \(got "tcp"\)/],
      [['idle', 'not a url'], /target must be a postgres/],
      [['idle', redis.url, '--max-idle', 'soon'], /--max-idle must be a duration/],
      [['idle', redis.url, '--connections', '99'], /connections must be a number from 1 to 32/],
      [['idle', '--env', 'TETHER_PROBE_UNSET'], /environment variable TETHER_PROBE_UNSET is not set/],
      [['ping', redis.url], /unknown command "ping"/],
      [['idle', redis.url, '--bogus'], /Unknown option '--bogus'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => probe(args)));
    cases.forEach(([args, message], i) => {
      expect({ args, code: runs[i]?.code }).toEqual({ args, code: 2 });
      expect(runs[i]?.stderr).toMatch(message);
    });
  });

  it('exits 1 naming the target (without credentials) when it cannot be reached', async () => {
    const run = await probe(['idle', 'postgres://probe:hunter2@127.0.0.1:1/db', ...quick]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot probe postgres://127.0.0.1:1/db');
    expect(run.stderr).not.toContain('hunter2');
  });

  it('picks a resolution that fits a short --max-idle when none is given', async () => {
    const run = await probe([
      'idle',
      redis.url,
      '--json',
      '--max-idle',
      '2s',
      '--connections',
      '2',
      '--rounds',
      '1',
      '--timeout',
      '2s',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as Report).shortestDiedMs).toBeUndefined();
  });

  it('--help explains the command', async () => {
    const run = await probe(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tether-probe idle <postgres://');
  });
});
