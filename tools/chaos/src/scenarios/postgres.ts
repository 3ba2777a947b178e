/** Faults of Postgres itself: a restart, a storm of terminated backends, idle reaping, exhaustion. */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionHog, HOG_APPLICATION } from '../controls/hog.ts';
import { naiveApiControl } from '../controls/naive-api-control.ts';
import type { Scenario } from '../scenario.ts';
import { restartServer } from './restart.ts';

export const postgresRestart: Scenario = {
  name: 'postgres-restart',
  title: 'Postgres restart',
  fault: 'Postgres stops (fast shutdown: sessions get 57P01), stays down 2 s (full: 5 s), starts again.',
  measures: { recovery: true },
  inject: (ctx) => restartServer(ctx, 'postgres', ctx.stack.postgres),
  control: naiveApiControl({ recovery: true }),
};

export const terminateStorm: Scenario = {
  name: 'terminate-storm',
  title: 'pg_terminate_backend storm',
  fault: 'Every application session is terminated (pg_terminate_backend) every 200 ms for 3 s (full: 10 s).',
  measures: { recovery: true },
  async inject(ctx) {
    const startMs = ctx.mark('terminate storm begins');
    let terminated = 0;
    const until = Date.now() + (ctx.size.quick ? 3_000 : 10_000);
    while (Date.now() < until) {
      terminated += await ctx.stack.postgres.terminateBackends();
      await sleep(200);
    }
    return { startMs, backMs: ctx.mark('storm over'), notes: [`${terminated} sessions terminated`] };
  },
  control: naiveApiControl(),
};

export const databaseBlackhole: Scenario = {
  name: 'db-blackhole',
  title: 'Database traffic silently dropped',
  fault:
    'Every packet between the apps and Postgres is dropped in the kernel (nftables: no FIN, no RST, new connections hang) for 30 s (quick: 6 s), then the path heals.',
  measures: { recovery: true, detection: true },
  // Cut off for longer than its lease TTL, the worker aborts its jobs (it cannot prove it still owns
  // them) and the sweeper requeues them once the path heals: they run again, which must be safe.
  outlastsLease: (size) => size.blackholeMs > size.leaseTtlMs,
  async inject(ctx) {
    const startMs = ctx.mark('blackhole');
    ctx.stack.pgProxy.blackhole({ newConnections: true });
    await sleep(ctx.size.blackholeMs);
    await ctx.stack.pgProxy.heal();
    return { startMs, backMs: ctx.mark('path heals') };
  },
  control: naiveApiControl({ recovery: true }),
};

export const idleReaping: Scenario = {
  name: 'idle-reaping',
  title: 'Server-side idle reaping',
  fault:
    'Postgres idle_session_timeout = 1 s and Redis timeout = 1 s; the load pauses 2.5 s (longer than both) three times, so idle connections are closed by the servers.',
  measures: {},
  async inject(ctx) {
    const { postgres, redis } = ctx.stack;
    // The chaos tool's own superuser sessions are exempt (a role setting beats the system one).
    await postgres.sql("ALTER ROLE postgres SET idle_session_timeout = '0'");
    const startMs = ctx.mark('reaping on');
    await postgres.setConfig('idle_session_timeout', '1s');
    await redis.configSet('timeout', 1);
    try {
      for (let i = 0; i < 3; i++) {
        ctx.pauseLoad();
        await sleep(2_500);
        ctx.resumeLoad();
        await sleep(1_500);
      }
    } finally {
      await postgres.setConfig('idle_session_timeout', '0');
      await redis.configSet('timeout', 0);
    }
    ctx.mark('reaping off');
    return { startMs };
  },
  control: naiveApiControl(),
};

export const connectionExhaustion: Scenario = {
  name: 'connection-exhaustion',
  title: 'Connection exhaustion (no connection slot left)',
  fault:
    "A runaway client takes every connection the application role may open (its CONNECTION LIMIT stands in for max_connections: same 53300), the apps' sessions are terminated so they must reconnect into a full server, and the hog keeps every slot for 3 s (full: 10 s).",
  measures: { recovery: true },
  async inject(ctx) {
    const hog = new ConnectionHog(ctx.stack.postgres);
    const startMs = ctx.mark('hog fills the server');
    let held = 0;
    try {
      await hog.fill();
      const terminated = await ctx.stack.postgres.terminateBackends(
        `usename = '${ctx.stack.postgres.user}' AND application_name <> '${HOG_APPLICATION}'`,
      );
      ctx.mark(`${terminated} app sessions terminated`);
      await sleep(ctx.size.quick ? 3_000 : 10_000);
      held = hog.held;
    } finally {
      await hog.release();
    }
    return { startMs, backMs: ctx.mark('hog releases'), notes: [`the hog held ${held} connections`] };
  },
  control: naiveApiControl({ recovery: true }),
};
