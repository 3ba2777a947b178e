/** Faults of Redis: a restart (nothing persisted: the event stream is gone too). */
import { naiveRelayControl } from '../controls/naive-relay-control.ts';
import type { Scenario } from '../scenario.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const redisRestart: Scenario = {
  name: 'redis-restart',
  title: 'Redis restart',
  fault:
    'Redis stops, stays down 2 s (full: 5 s) and starts empty (nothing persisted: the event stream is gone).',
  measures: { recovery: true },
  async inject(ctx) {
    const startMs = ctx.mark('redis stops');
    await ctx.stack.redis.stop();
    await sleep(ctx.size.quick ? 2_000 : 5_000);
    await ctx.stack.redis.start();
    return { startMs, backMs: ctx.mark('redis is back') };
  },
  control: naiveRelayControl(),
};
