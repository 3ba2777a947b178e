/**
 * Runs one benchmark file in a fresh process (its own process group, so a bench that overruns its
 * time is stopped with everything it started) and says how it went. The run's record is written
 * beside the reports as `run.json` and shown at the top of the HTML report.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';

export interface BenchRun {
  name: string;
  /** 'no report': exited 0 without writing `<name>.json` */
  status: 'ok' | 'failed' | 'timed out' | 'no report';
  exitCode: number | null;
  durationMs: number;
  message?: string;
}

export interface RunRecord {
  startedAt: string;
  finishedAt?: string;
  scale: 'quick' | 'full';
  benches: BenchRun[];
}

export interface RunOptions {
  /** where the bench writes `<name>.json` (passed on as BENCH_DIR) */
  dir: string;
  /** stopped (SIGTERM, then SIGKILL 15 s later) after this long, ms */
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** The process group of the bench running now, for the CLI's signal handlers. */
let current: number | undefined;

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** Stops the running bench's whole process group (Ctrl-C on `npm run bench`). */
export function stopCurrent(): void {
  if (current !== undefined) signalGroup(current, 'SIGTERM');
}

export async function runBench(name: string, file: string, options: RunOptions): Promise<BenchRun> {
  const report = join(options.dir, `${name}.json`);
  // A failed bench must not leave last run's report looking like this run's.
  rmSync(report, { force: true });
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--conditions=@tether/source', file], {
    env: { ...options.env, BENCH_DIR: options.dir },
    stdio: 'inherit',
    detached: true,
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const pgid = child.pid as number;
  current = pgid;
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(pgid, 'SIGTERM');
    // Time for a stack to go down through the apps' graceful path (devstack: 5 s per app + 2 s).
    killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), 15_000);
  }, options.timeoutMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  clearTimeout(killTimer);
  // Whatever the bench left running in its group (app processes) goes with it.
  signalGroup(pgid, 'SIGKILL');
  current = undefined;
  const durationMs = Math.round(performance.now() - startedAt);
  const base = { name, exitCode: code, durationMs };
  if (timedOut) return { ...base, status: 'timed out', message: overrun(file, options) };
  if (code !== 0) return { ...base, status: 'failed', message: `exited with ${signal ?? `code ${code}`}` };
  if (!existsSync(report))
    return { ...base, status: 'no report', message: `exited 0 without writing ${name}.json` };
  return { ...base, status: 'ok' };
}

/** Why a bench overran, as far as can be told: at the quick scale, whether it sizes itself at all. */
function overrun(file: string, options: RunOptions): string {
  const [load = 0] = loadavg();
  const what = `did not finish within ${Math.round(options.timeoutMs / 1000)} s (load average ${load.toFixed(1)} on ${availableParallelism()} CPUs)`;
  if (options.env['BENCH_SCALE'] !== 'quick') return what;
  return readFileSync(file, 'utf8').includes('benchScale(')
    ? `${what} at BENCH_SCALE=quick, although it calls benchScale(): its quick sizes are too large, or the machine is too busy`
    : `${what} at BENCH_SCALE=quick: it never calls benchScale(), so it ran at full size`;
}

/** The record of the last run in `dir`, if it left one. */
export function readRunRecord(path: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}
