/**
 * Control for Redis faults: "publish after commit, no outbox" — each job event, once seen committed in
 * Postgres, is XADDed to a stream once by a raw ioredis client that fails fast (no offline queue, as a
 * publisher on a request path must); a failed XADD is forgotten. Every forgotten event is one a
 * WebSocket follower never gets.
 */
import { Redis } from 'ioredis';
import { check } from '../budget.ts';
import type { Control, ControlRun, ScenarioContext } from '../scenario.ts';

export function naiveRelayControl(): Control {
  const title = 'publish-after-commit with raw ioredis';
  return {
    title,
    async start(ctx: ScenarioContext): Promise<ControlRun> {
      const redis = new Redis(ctx.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
      redis.on('error', () => {});
      const [{ max }] = (await ctx.stack.postgres.sql<{ max: string }>(
        'SELECT coalesce(max(id), 0)::text AS max FROM tether_job_events',
      )) as [{ max: string }];
      let cursor = max;
      let published = 0;
      let dropped = 0;
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          const rows = await ctx.stack.postgres
            .sql<{ id: string; job_id: string; seq: number }>(
              'SELECT id::text, job_id::text, seq FROM tether_job_events WHERE id > $1 ORDER BY id',
              [cursor],
            )
            .catch(() => []);
          for (const row of rows) {
            cursor = row.id;
            redis.xadd('chaos:naive-events', '*', 'jobId', row.job_id, 'seq', String(row.seq)).then(
              () => published++,
              () => dropped++,
            );
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      return {
        async stop() {
          stopped = true;
          await loop;
          redis.disconnect();
          return {
            title,
            checks: [check('events never published (missed by every follower)', dropped, 0)],
            notes: [`${published} events published, ${dropped} dropped while Redis was away`],
          };
        },
      };
    },
  };
}
