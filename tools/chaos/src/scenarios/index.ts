/** Every scenario, in the order a run takes them. */
import type { Scenario } from '../scenario.ts';
import { gatewayRestart, rollingRestart, workerKill } from './apps.ts';
import { natForgetsIdleFlows } from './nat.ts';
import {
  connectionExhaustion,
  databaseBlackhole,
  idleReaping,
  postgresRestart,
  terminateStorm,
} from './postgres.ts';
import { redisRestart } from './redis.ts';

export const scenarios: Scenario[] = [
  postgresRestart,
  redisRestart,
  terminateStorm,
  databaseBlackhole,
  idleReaping,
  connectionExhaustion,
  workerKill,
  gatewayRestart,
  rollingRestart,
  natForgetsIdleFlows,
];
