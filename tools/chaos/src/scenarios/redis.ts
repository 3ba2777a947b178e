/** Faults of Redis: a restart (nothing persisted: the event stream is gone too). */
import { naiveRelayControl } from '../controls/naive-relay-control.ts';
import type { Scenario } from '../scenario.ts';
import { restartServer } from './restart.ts';

export const redisRestart: Scenario = {
  name: 'redis-restart',
  title: 'Redis restart',
  fault:
    'Redis stops, stays down 2 s (full: 5 s) and starts empty (nothing persisted: the event stream is gone).',
  measures: { recovery: true },
  inject: (ctx) => restartServer(ctx, 'redis', ctx.stack.redis),
  control: naiveRelayControl(),
};
