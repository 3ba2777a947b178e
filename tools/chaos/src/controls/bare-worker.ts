/**
 * The control worker: bare graphile-worker (what Tether's worker is built on) running one task that
 * records each run in `chaos_control_runs` (a non-idempotent side effect) and then sleeps. Its own
 * process, like a pod: env DATABASE_URL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'graphile-worker';

const runner = await run({
  connectionString: process.env.DATABASE_URL,
  concurrency: 1,
  noHandleSignals: true,
  pollInterval: 200,
  taskList: {
    async chaos_control_sleep(payload, helpers) {
      const { key, ms } = payload as { key: string; ms: number };
      await helpers.withPgClient((client) =>
        client.query('INSERT INTO chaos_control_runs (job_key) VALUES ($1)', [key]),
      );
      await sleep(ms);
    },
  },
});
process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));
process.stdout.write('ready\n');
