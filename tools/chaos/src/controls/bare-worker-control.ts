/**
 * Control for a worker killed mid-job: bare graphile-worker. Its job is running when the worker is
 * SIGKILLed at the same moment as the platform's; a fresh bare worker starts at once (the ReplicaSet's
 * replacement) and is watched for the rest of the scenario. graphile-worker keeps a dead worker's
 * jobs locked for 4 hours, so the job does not run again in time.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppProcess, EphemeralPostgres } from '@tether/devstack';
import { BUDGET, check } from '../budget.ts';
import type { Control, ControlRun, FaultWindow, ScenarioContext } from '../scenario.ts';
import { startTracked } from '../stack.ts';

const entry = join(fileURLToPath(new URL('.', import.meta.url)), 'bare-worker.ts');
const title = 'bare graphile-worker';

async function startWorker(url: string): Promise<AppProcess> {
  const app = await startTracked(entry, { DATABASE_URL: url });
  const deadline = Date.now() + 240_000;
  while (!app.output().includes('ready')) {
    if (app.child.exitCode !== null) throw new Error(`bare worker exited:\n${app.output()}`);
    if (Date.now() > deadline) throw new Error('bare worker did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return app;
}

async function runs(postgres: EphemeralPostgres, key: string): Promise<{ at: number }[]> {
  const rows = await postgres.sql<{ at: string }>(
    'SELECT (extract(epoch FROM at) * 1000)::text AS at FROM chaos_control_runs WHERE job_key = $1 ORDER BY at',
    [key],
  );
  return rows.map((r) => ({ at: Number(r.at) }));
}

export interface BareWorkerControl extends Control {
  /** SIGKILLs the bare worker running the job and starts a fresh one. */
  kill(): Promise<void>;
}

export function bareWorkerControl(): BareWorkerControl {
  let current: AppProcess | undefined;
  let url = '';
  const workers: AppProcess[] = [];
  return {
    title,
    async kill() {
      current?.child.kill('SIGKILL');
      current = await startWorker(url);
      workers.push(current);
    },
    async start(ctx: ScenarioContext): Promise<ControlRun> {
      const { postgres } = ctx.stack;
      url = postgres.url;
      await postgres.sql(
        'CREATE TABLE IF NOT EXISTS chaos_control_runs (job_key text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())',
      );
      await postgres.sql('GRANT ALL ON chaos_control_runs TO tether');
      const key = `chaos-control-${randomUUID()}`;
      current = await startWorker(url);
      workers.push(current);
      await postgres.sql(
        "SELECT graphile_worker.add_job('chaos_control_sleep', json_build_object('key', $1::text, 'ms', 120000), job_key := $1::text)",
        [key],
      );
      const deadline = Date.now() + 60_000;
      while ((await runs(postgres, key)).length === 0) {
        if (Date.now() > deadline) throw new Error('the bare worker did not take its job');
        await new Promise((r) => setTimeout(r, 100));
      }
      return {
        async stop(fault: FaultWindow) {
          // The full run watches past the budget; the quick one shows the lock that outlives it.
          if (!ctx.size.quick) {
            const waitMs = fault.startMs + BUDGET.resumeMs + 1_000 - Date.now();
            if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
          }
          const all = await runs(postgres, key);
          const rerun = all.find((r) => r.at > fault.startMs);
          const watchedMs = Date.now() - fault.startMs;
          const [lock] = await postgres.sql<{ locked_at: string | null }>(
            'SELECT locked_at::text FROM graphile_worker._private_jobs WHERE key = $1',
            [key],
          );
          await postgres.sql('SELECT graphile_worker.remove_job($1)', [key]).catch(() => {});
          await postgres
            .sql('DELETE FROM graphile_worker._private_jobs WHERE key = $1', [key])
            .catch(() => {});
          for (const w of workers) w.child.kill('SIGKILL');
          return {
            title,
            checks: [
              check(
                "dead worker's job resumed after",
                rerun ? rerun.at - fault.startMs : null,
                BUDGET.resumeMs,
                'ms',
              ),
            ],
            notes: rerun
              ? [`resumed after ${Math.round(rerun.at - fault.startMs)} ms`]
              : [
                  `not resumed in the ${Math.round(watchedMs / 1000)} s watched; still locked by the dead worker since ${lock?.locked_at ?? '?'} (graphile-worker unlocks after 4 h)`,
                ],
          };
        },
      };
    },
  };
}
