/**
 * What a scenario is, and how one runs: steady load and WebSocket followers against the platform,
 * the scenario's control started beside it, one fault injected, then the ledger (Postgres and the
 * followers), the trace sink's outage spans and the budget checks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readSpans } from '@tether/trace-sink';
import {
  BUDGET,
  type Check,
  check,
  countRequests,
  httpDetectionMs,
  httpRecoveryMs,
  type RequestCounts,
  rolloutChecks,
  rolloutNotes,
} from './budget.ts';
import { Followers } from './followers.ts';
import { checkJobs, type JobLedger } from './ledger.ts';
import { type Attempt, HttpLoad } from './load.ts';
import type { Size } from './size.ts';
import type { AppSet, ChaosStack } from './stack.ts';
import { disconnectedSeries, type Mark, outageSpans, series, type Timeline } from './timeline.ts';

export interface ScenarioContext {
  stack: ChaosStack;
  /** The apps under test (the run's shared set unless the scenario made its own). */
  apps: AppSet;
  /** The DATABASE_URL the apps use (through the fault proxy or the NAT). */
  databaseUrl: string;
  redisUrl: string;
  size: Size;
  /** Every HTTP attempt on a new connection (the scenario's `freshConnections`), platform and control alike. */
  freshConnections: boolean;
  log: (line: string) => void;
  /** Records a moment on the timeline; returns it (ms since the epoch). */
  mark(label: string): number;
  /** Stops/restarts starting new requests, for the platform and the control alike (idle periods). */
  pauseLoad(): void;
  resumeLoad(): void;
  /** Calls `listener` with each job the platform accepts during the scenario. */
  onJobAccepted(listener: (jobId: string) => void): void;
}

/** When the fault began and, for a dependency that went away, when it was back. */
export interface FaultWindow {
  startMs: number;
  backMs?: number;
  /** When the fault was over (a rollout: its last old replica exited); the rollout budget's window. */
  endMs?: number;
  /** Extra checks the scenario measured itself (e.g. resume time of a dead worker's jobs). */
  checks?: Check[];
  notes?: string[];
}

export interface ControlResult {
  title: string;
  checks: Check[];
  notes: string[];
  requests?: RequestCounts;
  attempts?: Attempt[];
}

export interface ControlRun {
  stop(fault: FaultWindow): Promise<ControlResult>;
}

/** The same fault against a naive app or raw driver. */
export interface Control {
  title: string;
  start(ctx: ScenarioContext): Promise<ControlRun>;
}

/** Apps a scenario brings itself (e.g. behind a NAT), and how to take them down. */
export interface OwnApps {
  apps: AppSet;
  databaseUrl: string;
  redisUrl: string;
  close(): Promise<void>;
}

export interface Scenario {
  name: string;
  title: string;
  /** The fault, in a sentence (README and report). */
  fault: string;
  /**
   * Budget checks that apply beyond the correctness ones; `rollout`: no attempt may fail between the
   * fault's start and its `endMs` (platform and control alike).
   */
  measures: { recovery?: boolean; detection?: boolean; rollout?: boolean };
  /**
   * Whether the fault takes a worker away for longer than its lease (a SIGKILL, a partition longer
   * than the TTL): then the jobs it ran are requeued and run again (at-least-once, by design), and
   * "jobs run more than once" is not in its budget. That each re-run followed a lease-expired
   * requeue, that the fenced run wrote nothing after it and that no job finished twice is checked
   * in every scenario. Everywhere else a second run is over budget too.
   */
  outlastsLease?(size: Size): boolean;
  /** HTTP attempts each on a new connection (see LoadOptions.freshConnections). */
  freshConnections?: boolean;
  /** Only in the full run (too heavy for `npm test`). */
  fullOnly?: boolean;
  clients?(size: Size): number;
  followersPerJob?: number;
  setup?(ctx: Omit<ScenarioContext, 'apps' | 'databaseUrl' | 'redisUrl'>): Promise<OwnApps>;
  /** Runs after warm-up, under load; resolves when the fault is over. */
  inject(ctx: ScenarioContext): Promise<FaultWindow>;
  control: Control;
}

export interface ScenarioResult {
  name: string;
  title: string;
  fault: string;
  quick: boolean;
  passed: boolean;
  checks: Check[];
  requests: RequestCounts;
  jobs: JobLedger;
  detectionMs: number | null;
  recoveryMs: number | null;
  /** Longest time a WebSocket client was away, ms. */
  longestReconnectMs: number | null;
  notes: string[];
  /** Where the scenario's wall time went, ms. */
  phasesMs: Record<string, number>;
  control: ControlResult & { passed: boolean };
  timeline: Timeline;
  error?: string;
}

/** The note for connections a balancer reset because no replica was routable (none: no note). */
export function noEndpointNote(resets: number): string[] {
  return resets > 0
    ? [`${resets} connections reset by the balancer: no replica was ready (no endpoints)`]
    : [];
}

/** A scenario that could not run (its set-up or fault threw): it fails, saying why. */
export function brokenResult(scenario: Scenario, size: Size, error: unknown): ScenarioResult {
  const now = Date.now();
  const empty = { t: [now], ok: [0], errors: [0] };
  return {
    name: scenario.name,
    title: scenario.title,
    fault: scenario.fault,
    quick: size.quick,
    passed: false,
    checks: [check('scenario ran', null, 0)],
    requests: countRequests([], []),
    jobs: {
      accepted: 0,
      lost: 0,
      duplicated: 0,
      rerun: 0,
      rerunsWithoutLeaseExpiry: 0,
      rerunsWithoutRequeue: 0,
      fencedRunEvents: 0,
      completedTwice: 0,
      eventGaps: 0,
      unacknowledged: 0,
      followed: 0,
      missedEvents: 0,
      duplicatedEvents: 0,
      outOfOrder: 0,
      examples: [],
    },
    detectionMs: null,
    recoveryMs: null,
    longestReconnectMs: null,
    notes: [],
    phasesMs: {},
    control: { title: scenario.control.title, checks: [], notes: [], passed: false },
    timeline: {
      startMs: now,
      endMs: now + 1,
      bucketMs: 1,
      tether: empty,
      outages: [],
      disconnected: [0],
      marks: [],
    },
    error: error instanceof Error ? error.message : String(error),
  };
}

export async function runScenario(
  scenario: Scenario,
  stack: ChaosStack,
  size: Size,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const marks: Mark[] = [];
  const loads: HttpLoad[] = [];
  const acceptedListeners: ((jobId: string) => void)[] = [];
  const base = {
    stack,
    size,
    log,
    mark(label: string) {
      const atMs = Date.now();
      marks.push({ label, atMs });
      log(`  ${scenario.name}: ${label}`);
      return atMs;
    },
    freshConnections: scenario.freshConnections ?? false,
    pauseLoad: () => loads.forEach((l) => l.pause()),
    resumeLoad: () => loads.forEach((l) => l.resume()),
    onJobAccepted: (listener: (jobId: string) => void) => void acceptedListeners.push(listener),
  };
  const phases: Record<string, number> = {};
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };
  const own = await scenario.setup?.(base);
  phase('setup');
  const ctx: ScenarioContext = {
    ...base,
    apps: own?.apps ?? stack.apps,
    databaseUrl: own?.databaseUrl ?? stack.proxiedDatabaseUrl,
    redisUrl: own?.redisUrl ?? stack.redis.url,
  };
  const keyPrefix = `chaos-${scenario.name}-${Date.now()}`;
  const followers = new Followers({
    url: ctx.apps.wsUrl,
    token: stack.token,
    clients: scenario.clients?.(size) ?? size.clients,
    followersPerJob: scenario.followersPerJob ?? 1,
  });
  try {
    await followers.ready();
    phase('followers');
    const load = new HttpLoad({
      baseUrl: ctx.apps.apiUrl,
      token: stack.token,
      keyed: true,
      ratePerS: size.ratePerS,
      postShare: 0.3,
      deadlineMs: size.deadlineMs,
      attemptTimeoutMs: size.attemptTimeoutMs,
      keyPrefix,
      job: size.job,
      freshConnections: scenario.freshConnections ?? false,
      onAccepted: (id) => {
        followers.follow(id);
        for (const listener of acceptedListeners) listener(id);
      },
    });
    loads.push(load);
    const control = await scenario.control.start(ctx);
    phase('control start');
    const controlLoad = (control as { load?: HttpLoad }).load;
    if (controlLoad) loads.push(controlLoad);
    const startMs = Date.now();
    const resetsBefore = ctx.apps.noEndpointResets();
    for (const l of loads) l.start();
    await sleep(size.warmupMs);
    const fault = await scenario.inject(ctx);
    ctx.resumeLoad();
    await sleep(size.afterMs);
    ctx.mark('load stops');
    await Promise.all(loads.map((l) => l.stop()));
    phase('load and fault');
    const jobs = await checkJobs(stack.postgres, keyPrefix, load.requests, followers, size.settleMs);
    phase('settle');
    const controlResult = await control.stop(fault);
    phase('control stop');
    await sleep(1_000); // the apps export spans every 500 ms
    const endMs = Date.now();
    const outages = outageSpans(readSpans(stack.traceFile), startMs, endMs);
    const requests = countRequests(load.requests, load.attempts, load.skipped);
    const spanStarts = outages.map((o) => o.startMs).filter((t) => t >= fault.startMs - 100);
    const detections = [
      httpDetectionMs(load.attempts, fault.startMs),
      ...spanStarts.map((t) => Math.max(0, t - fault.startMs)),
    ];
    const detectionMs = detections.some((d) => d !== null)
      ? Math.min(...detections.filter((d) => d !== null))
      : null;
    let recoveryMs: number | null = null;
    if (fault.backMs !== undefined) {
      const back = fault.backMs;
      const spanEnds = outages.filter((o) => o.endMs >= back).map((o) => o.endMs - back);
      const http = httpRecoveryMs(load.attempts, back);
      recoveryMs = http === null ? null : Math.max(http, ...spanEnds);
    }
    const gaps = followers.gaps.flat();
    const longestReconnectMs = gaps.length
      ? Math.max(...gaps.map((g) => (g.endMs ?? endMs) - g.startMs))
      : null;
    const checks: Check[] = [
      check('failed idempotent requests', requests.failedIdempotent, 0),
      check('failed non-idempotent requests', requests.failedNonIdempotent, 0),
      check('lost jobs', jobs.lost, 0),
      check('duplicated jobs', jobs.duplicated, 0),
      // Every scenario: a re-run must start right after the job was taken back (a requeue: lease
      // expiry, the worker's retry, a hand-off at shutdown). Where the fault outlasts the lease,
      // re-running is the designed outcome and must follow the sweeper's lease expiry; elsewhere any
      // re-run is over budget (a worker stalled past its lease on a starved machine looks dead too:
      // the quick run in npm test leaves that line to the full run).
      check('re-runs not right after a requeue', jobs.rerunsWithoutRequeue, 0),
      ...(scenario.outlastsLease?.(size)
        ? [check('re-runs not preceded by a lease-expired requeue', jobs.rerunsWithoutLeaseExpiry, 0)]
        : [check('jobs run more than once', jobs.rerun, 0)]),
      check('events from a fenced run after its requeue', jobs.fencedRunEvents, 0),
      check('jobs finished more than once', jobs.completedTwice, 0),
      check('job event logs with gaps', jobs.eventGaps, 0),
      check('missed WebSocket events', jobs.missedEvents, 0),
      check('duplicated WebSocket events', jobs.duplicatedEvents, 0),
      check('WebSocket streams out of order', jobs.outOfOrder, 0),
      check('WebSocket clients still disconnected', gaps.filter((g) => g.endMs === undefined).length, 0),
      ...(scenario.measures.detection
        ? [check('time to detect', detectionMs, BUDGET.detectionMs, 'ms')]
        : []),
      ...(scenario.measures.recovery ? [check('time to recover', recoveryMs, BUDGET.recoveryMs, 'ms')] : []),
      ...(scenario.measures.rollout ? rolloutChecks(load.attempts, fault) : []),
      ...(fault.checks ?? []),
    ];
    const bucketMs = Math.max(250, Math.round((endMs - startMs) / 120 / 250) * 250);
    const timeline: Timeline = {
      startMs,
      endMs,
      bucketMs,
      tether: series(load.attempts, startMs, endMs, bucketMs),
      ...(controlResult.attempts
        ? { control: series(controlResult.attempts, startMs, endMs, bucketMs) }
        : {}),
      outages,
      disconnected: disconnectedSeries(followers.gaps, startMs, endMs, bucketMs),
      marks,
    };
    const { attempts: _omit, ...controlSummary } = controlResult;
    return {
      name: scenario.name,
      title: scenario.title,
      fault: scenario.fault,
      quick: size.quick,
      passed: checks.every((c) => c.ok),
      checks,
      requests,
      jobs,
      detectionMs,
      recoveryMs,
      longestReconnectMs,
      notes: [
        ...(fault.notes ?? []),
        ...noEndpointNote(ctx.apps.noEndpointResets() - resetsBefore),
        ...(scenario.measures.rollout ? rolloutNotes(load.attempts, fault) : []),
        ...(scenario.outlastsLease?.(size) && jobs.rerun > 0
          ? [
              `${jobs.rerun} job(s) ran again after their lease expired (at-least-once); checked safe: ${jobs.rerunsWithoutLeaseExpiry} re-runs without a lease-expired requeue, ${jobs.fencedRunEvents} events from fenced runs, ${jobs.completedTwice} finished twice`,
            ]
          : []),
      ],
      phasesMs: phases,
      control: { ...controlSummary, passed: controlResult.checks.every((c) => c.ok) },
      timeline,
    };
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await followers.close();
    await own?.close();
  }
}
