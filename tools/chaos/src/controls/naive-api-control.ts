/**
 * Controls built on the naive app (naive-api.ts): the same load and the same fault, with the app
 * reaching Postgres the way the platform's apps do in the scenario (through the fault proxy or the
 * NAT). Its POSTs carry no Idempotency-Key (it has none), so the client may retry them only when the
 * connection was refused.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppProcess } from '@tether/devstack';
import { Balancer } from '../balancer.ts';
import {
  BUDGET,
  type Check,
  check,
  countRequests,
  httpRecoveryMs,
  rolloutChecks,
  rolloutNotes,
} from '../budget.ts';
import { HttpLoad } from '../load.ts';
import {
  type Control,
  type ControlResult,
  type ControlRun,
  type FaultWindow,
  noEndpointNote,
  type ScenarioContext,
} from '../scenario.ts';
import { startReady } from '../stack.ts';

const entry = join(fileURLToPath(new URL('.', import.meta.url)), 'naive-api.ts');
const title = 'Express + default pg.Pool';

function startNaive(ctx: ScenarioContext): Promise<AppProcess> {
  return startReady(entry, { DATABASE_URL: ctx.databaseUrl }, '/');
}

function naiveLoad(ctx: ScenarioContext, port: number): HttpLoad {
  return new HttpLoad({
    baseUrl: `http://127.0.0.1:${port}`,
    keyed: false,
    ratePerS: ctx.size.ratePerS,
    postShare: 0.3,
    deadlineMs: ctx.size.deadlineMs,
    attemptTimeoutMs: ctx.size.attemptTimeoutMs,
    keyPrefix: 'naive',
    job: ctx.size.job,
    freshConnections: ctx.freshConnections,
  });
}

/** The control's result: its requests' failures, whether a replica crashed, and extra checks. */
async function result(load: HttpLoad, apps: AppProcess[], extra: Check[]): Promise<ControlResult> {
  await load.stop();
  const crashed = apps.filter((a) => a.child.exitCode !== null && a.child.exitCode !== 0);
  const crash = crashed.flatMap((a) => a.output().split('\n')).find((l) => /^\S*Error|error:/.test(l.trim()));
  for (const app of apps) await app.stop('SIGKILL');
  const requests = countRequests(load.requests, load.attempts, load.skipped);
  return {
    title,
    requests,
    attempts: load.attempts,
    checks: [
      check('failed idempotent requests', requests.failedIdempotent, 0),
      check('failed non-idempotent requests', requests.failedNonIdempotent, 0),
      check('process crashed', crashed.length, 0),
      // A hang the client had to cut (its attempt timeout) is a failure a user notices, retried or not.
      check('attempts hung until the client timed out', requests.failuresByOutcome.timeout ?? 0, 0),
      ...extra,
    ],
    notes: crash ? [`crashed: ${crash.trim().slice(0, 200)}`] : [],
  };
}

/** One naive replica, under the scenario's fault. */
export function naiveApiControl(options: { recovery?: boolean } = {}): Control {
  return {
    title,
    async start(ctx: ScenarioContext): Promise<ControlRun & { load: HttpLoad }> {
      const app = await startNaive(ctx);
      const load = naiveLoad(ctx, app.port);
      return {
        load,
        stop: (fault: FaultWindow) =>
          result(
            load,
            [app],
            options.recovery && fault.backMs !== undefined
              ? [
                  check(
                    'time to recover',
                    httpRecoveryMs(load.attempts, fault.backMs),
                    BUDGET.recoveryMs,
                    'ms',
                  ),
                ]
              : [],
          ),
      };
    },
  };
}

export interface RollingControl extends Control {
  /**
   * Replaces the naive replica the way the platform's are replaced (AppSet.rollingRestart): the new
   * one starts and is ready, then the old pod is deleted: its endpoint removal starts propagating
   * and it gets SIGTERM at once, having no preStop hook (a team without Tether has none).
   */
  roll(): Promise<void>;
}

/** Naive replicas behind the same kind of balancer, replaced by a rolling update. */
export function naiveRollingControl(): RollingControl {
  let roll: () => Promise<void> = async () => {};
  return {
    title: `${title}, no preStop, no graceful shutdown`,
    roll: () => roll(),
    async start(ctx: ScenarioContext): Promise<ControlRun & { load: HttpLoad }> {
      const balancer = await Balancer.start();
      const apps = [await startNaive(ctx)];
      balancer.add(apps[0] as AppProcess);
      await balancer.waitReady();
      roll = async () => {
        const old = apps.at(-1) as AppProcess;
        const next = await startNaive(ctx);
        apps.push(next);
        balancer.add(next);
        await balancer.waitReady(60_000, next);
        balancer.terminating(old);
        await old.stop('SIGTERM');
      };
      const load = naiveLoad(ctx, balancer.port);
      return {
        load,
        async stop(fault: FaultWindow) {
          const out = await result(load, apps, rolloutChecks(load.attempts, fault));
          out.notes.push(...rolloutNotes(load.attempts, fault), ...noEndpointNote(balancer.noEndpointResets));
          await balancer.close();
          return out;
        },
      };
    },
  };
}
