/** Faults of the apps themselves: a worker killed mid-job, restarts of each app, many WebSocket clients. */
import { setTimeout as sleep } from 'node:timers/promises';
import { bareWorkerControl } from '../controls/bare-worker-control.ts';
import { naiveRollingControl } from '../controls/naive-api-control.ts';
import { rawWsControl } from '../controls/raw-ws-control.ts';
import { BUDGET, check } from '../budget.ts';
import type { Scenario } from '../scenario.ts';

const workerControl = bareWorkerControl();

export const workerKill: Scenario = {
  name: 'worker-kill',
  title: 'SIGKILL of the worker mid-job',
  fault:
    'The worker is SIGKILLed while it runs jobs (no graceful path, like an OOM kill); a replacement starts at once, as a ReplicaSet would.',
  measures: {},
  // The killed worker cannot renew its leases: its jobs are requeued after the TTL and run again.
  outlastsLease: () => true,
  async inject(ctx) {
    const { postgres } = ctx.stack;
    const running = async () =>
      (await postgres.sql<{ id: string }>("SELECT id::text FROM tether_jobs WHERE status = 'running'")).map(
        (r) => r.id,
      );
    let inFlight = await running();
    const deadline = Date.now() + 30_000;
    while (inFlight.length === 0 && Date.now() < deadline) {
      await sleep(20);
      inFlight = await running();
    }
    ctx.apps.current('worker').child.kill('SIGKILL');
    const startMs = ctx.mark(`worker SIGKILLed with ${inFlight.length} job(s) running`);
    await Promise.all([ctx.apps.startReplica('worker'), workerControl.kill()]);
    ctx.mark('replacement workers ready');
    // Resumed: the job ran again (a second `running` event) after the kill.
    let resumedMs: number | null = null;
    const until = Date.now() + BUDGET.resumeMs * 2;
    while (Date.now() < until) {
      const rows = await postgres.sql<{ last: string | null }>(
        `SELECT (extract(epoch FROM max(e.created_at)) * 1000)::text AS last FROM tether_jobs j
           JOIN LATERAL (SELECT created_at FROM tether_job_events e WHERE e.job_id = j.id AND e.type = 'running'
                          ORDER BY seq DESC LIMIT 1) e ON true
          WHERE j.id = ANY($1::uuid[]) HAVING count(*) = $2 AND bool_and(e.created_at > to_timestamp($3 / 1000.0))`,
        [inFlight, inFlight.length, startMs],
      );
      if (rows[0]?.last) {
        resumedMs = Number(rows[0].last) - startMs;
        break;
      }
      await sleep(100);
    }
    return {
      startMs,
      checks: [check("dead worker's jobs resumed after", resumedMs, BUDGET.resumeMs, 'ms')],
      notes: [`${inFlight.length} job(s) were running at the kill`],
    };
  },
  control: workerControl,
};

export const gatewayRestart: Scenario = {
  name: 'gateway-restart',
  title: 'Gateway restart with many WebSocket clients',
  fault:
    'The WebSocket gateway is replaced (a new replica starts, the old one gets SIGTERM and closes its clients with 1012) while 1,000 clients (quick: 50) follow jobs.',
  measures: {},
  clients: (size) => size.gatewayClients,
  followersPerJob: 10,
  async inject(ctx) {
    const old = ctx.apps.current('wsGateway');
    await ctx.apps.startReplica('wsGateway');
    const startMs = ctx.mark('old gateway gets SIGTERM');
    await old.stop('SIGTERM');
    ctx.mark('old gateway exited');
    return { startMs };
  },
  control: rawWsControl((ctx) => Math.min(ctx.size.gatewayClients, 50)),
};

const rollingControl = naiveRollingControl();

export const rollingRestart: Scenario = {
  name: 'rolling-restart',
  title: 'Rolling restart of each app',
  fault:
    "api, worker and ws-gateway in turn (maxSurge 1, maxUnavailable 0): a new replica starts and becomes ready, then the old pod is deleted: its endpoint removal reaches the balancer 1 s later (kube-proxy's propagation), and it gets SIGTERM after its chart's preStop sleep (api and ws-gateway 10 s, worker none). Every HTTP attempt opens a new connection.",
  measures: { rollout: true },
  fullOnly: true,
  freshConnections: true,
  async inject(ctx) {
    const startMs = ctx.mark('rolling restart begins');
    for (const name of ['api', 'worker', 'wsGateway'] as const) {
      await Promise.all([ctx.apps.rollingRestart(name), name === 'api' ? rollingControl.roll() : undefined]);
      ctx.mark(`${name} replaced`);
    }
    // A request cut by the last exit ends within an attempt timeout; the window reaches a second past it.
    await sleep(1_000);
    return { startMs, endMs: Date.now() };
  },
  control: rollingControl,
};
