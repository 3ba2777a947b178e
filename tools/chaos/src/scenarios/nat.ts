/** Issue #17 item 5: the NAT forgets idle flows (a real kernel conntrack NAT, not a proxy). */
import { setTimeout as sleep } from 'node:timers/promises';
import { NatPath, natPrerequisites } from '@tether/devstack';
import { naiveApiControl } from '../controls/naive-api-control.ts';
import type { Scenario } from '../scenario.ts';
import { AppSet } from '../stack.ts';

/** NAT idle timeout, s; every idle period of the load is longer. */
const NAT_IDLE_S = 3;
/**
 * Quiet periods, s: longer than the NAT's timeout and shorter than the default `pg.Pool`
 * `idleTimeoutMillis` (10 s), which would otherwise retire the control's dead connections just
 * before the load resumes and let it pass for the wrong reason (a full run with 10 s did).
 */
const QUIET_S = { quick: NAT_IDLE_S + 2, full: NAT_IDLE_S + 4 };

export const natForgetsIdleFlows: Scenario = {
  name: 'nat-idle',
  title: 'The NAT forgets idle flows',
  fault: `A second set of apps reaches Postgres and Redis through a kernel NAT (NatPath) that forgets flows idle ${NAT_IDLE_S} s; the load goes quiet for ${QUIET_S.quick} s twice (full: ${QUIET_S.full} s, three times), so pooled connections die silently.`,
  measures: {},
  // Starts a second api, worker and gateway: too heavy for `npm test` on a shared 2-core machine.
  fullOnly: true,
  async setup(ctx) {
    const missing = natPrerequisites();
    if (missing.length > 0) throw new Error(`the NAT scenario needs: ${missing.join(', ')}`);
    const { postgres, redis } = ctx.stack;
    const nat = await NatPath.create({ idleTimeoutS: NAT_IDLE_S, ports: [postgres.port, redis.port] });
    const urls = { databaseUrl: nat.url(postgres.url), redisUrl: nat.url(redis.url) };
    try {
      const apps = await AppSet.start(ctx.stack.appEnv(urls), ctx.log);
      return {
        apps,
        ...urls,
        async close() {
          await apps.stop();
          await nat.close();
        },
      };
    } catch (error) {
      await nat.close();
      throw error;
    }
  },
  async inject(ctx) {
    const startMs = ctx.mark('load goes quiet');
    const idleMs = (ctx.size.quick ? QUIET_S.quick : QUIET_S.full) * 1000;
    for (let i = 0; i < (ctx.size.quick ? 2 : 3); i++) {
      ctx.pauseLoad();
      await sleep(idleMs);
      ctx.mark('load resumes');
      ctx.resumeLoad();
      await sleep(2_000);
    }
    return { startMs };
  },
  control: naiveApiControl(),
};
