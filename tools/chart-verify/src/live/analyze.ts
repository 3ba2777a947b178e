/**
 * What a rollout did, from the informers' timeline alone: for each pod that was running when the
 * rollout began, when its endpoint left rotation (EndpointSlice `ready: false` or `terminating`,
 * or gone from the slice) against when it stopped serving (SIGTERM: deletion + preStop, or its
 * exit if that came first), plus the figures `simulate` reports (time to ready, termination and
 * drain times, restarts, pods killed after the grace period).
 */
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { stats, type Stats } from '../stats.ts';
import { preStopOf } from '../static/timing.ts';
import type { Observation } from './watch.ts';

export interface OldPodRecord {
  pod: string;
  /** Milliseconds from the rollout's start; undefined when never observed. */
  terminatingAt?: number;
  sigtermAt?: number;
  exitedAt?: number;
  leftRotationAt?: number;
  /** How it left: `ready: false`, `terminating`, or `removed from <slice>`. */
  leftRotationBy?: string;
  /** stoppedServing - leftRotation: how long the endpoint was out before the app stopped serving. */
  headroomMs?: number;
  ok: boolean;
  problem?: string;
}

export interface RotationAnalysis {
  oldPods: OldPodRecord[];
  newPods: { pod: string; timeToReadyMs?: number }[];
  summary: {
    /** Old pods whose endpoint was still in rotation when they stopped serving (or never left). */
    endpointsLeftLate: number;
    podsKilledAfterGrace: number;
    /** Old pods whose container exited non-zero without a SIGKILL (a shutdown step failed). */
    podsExitedNonZero: number;
    restarts: number;
    timeToReadyMs?: Stats;
    terminationMs?: Stats;
    drainAfterSigtermMs?: Stats;
  };
}

const podName = (pod: V1Pod) => pod.metadata?.name ?? '';
const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const allExited = (pod: V1Pod) =>
  (pod.status?.containerStatuses?.length ?? 0) > 0 &&
  (pod.status?.containerStatuses ?? []).every((s) => s.state?.terminated !== undefined);
const exitCodes = (pod: V1Pod) =>
  (pod.status?.containerStatuses ?? []).flatMap((s) =>
    s.state?.terminated ? [s.state.terminated.exitCode] : [],
  );
const sigkilled = (pod: V1Pod) => exitCodes(pod).includes(137);
const exitedNonZero = (pod: V1Pod) => exitCodes(pod).some((code) => code !== 0 && code !== 137);

/** Analyses the observations; `startedAt` is when the rollout restart was sent (same clock). */
export function analyzeRollout(observations: Observation[], startedAt: number): RotationAnalysis {
  const pods = new Map<string, { first: number; events: { at: number; verb: string; pod: V1Pod }[] }>();
  for (const o of observations) {
    if (o.resource !== 'pod') continue;
    const name = podName(o.object);
    const entry = pods.get(name) ?? { first: o.at, events: [] };
    entry.events.push({ at: o.at, verb: o.verb, pod: o.object });
    pods.set(name, entry);
  }
  const rotation = rotationExits(observations, startedAt);
  const rel = (at: number | undefined) => (at === undefined ? undefined : at - startedAt);
  const oldPods: OldPodRecord[] = [];
  const newPods: RotationAnalysis['newPods'] = [];
  let killed = 0;
  let nonZero = 0;
  let restarts = 0;
  for (const [name, { first, events }] of pods) {
    restarts += Math.max(
      0,
      ...events.flatMap((e) => (e.pod.status?.containerStatuses ?? []).map((s) => s.restartCount ?? 0)),
    );
    if (events.some((e) => sigkilled(e.pod))) killed++;
    else if (events.some((e) => exitedNonZero(e.pod))) nonZero++;
    if (first >= startedAt) {
      const ready = events.find((e) => isReady(e.pod))?.at;
      newPods.push({ pod: name, ...(ready !== undefined ? { timeToReadyMs: ready - first } : {}) });
      continue;
    }
    const terminating = events.find((e) => e.pod.metadata?.deletionTimestamp || e.verb === 'delete');
    if (!terminating) continue;
    const spec = terminating.pod.spec?.containers ?? [];
    const preStopMs = Math.max(0, ...spec.map((c) => preStopOf(c).seconds)) * 1000;
    const sigtermAt = terminating.at + preStopMs;
    const exitedAt = events.find((e) => e.verb === 'delete' || allExited(e.pod))?.at;
    const stoppedAt = Math.min(sigtermAt, exitedAt ?? Number.POSITIVE_INFINITY);
    const left = rotation.get(name);
    const record: OldPodRecord = {
      pod: name,
      terminatingAt: rel(terminating.at),
      sigtermAt: rel(sigtermAt),
      ...(exitedAt !== undefined ? { exitedAt: rel(exitedAt) } : {}),
      ok: left !== undefined && left.at <= stoppedAt,
    };
    if (left) {
      record.leftRotationAt = rel(left.at);
      record.leftRotationBy = left.by;
      record.headroomMs = stoppedAt - left.at;
    }
    if (!left) record.problem = 'its endpoint was never seen leaving rotation';
    else if (!record.ok)
      record.problem = `its endpoint left rotation ${left.at - stoppedAt} ms after the pod stopped serving`;
    oldPods.push(record);
  }
  const terminated = oldPods.filter((p) => p.exitedAt !== undefined && p.terminatingAt !== undefined);
  return {
    oldPods,
    newPods,
    summary: {
      endpointsLeftLate: oldPods.filter((p) => !p.ok).length,
      podsKilledAfterGrace: killed,
      podsExitedNonZero: nonZero,
      restarts,
      timeToReadyMs: stats(newPods.map((p) => p.timeToReadyMs)),
      terminationMs: stats(terminated.map((p) => (p.exitedAt as number) - (p.terminatingAt as number))),
      drainAfterSigtermMs: stats(
        terminated.map((p) => Math.max(0, (p.exitedAt as number) - (p.sigtermAt as number))),
      ),
    },
  };
}

/** For each pod, the first time from `since` on that one of the Service's slices stopped routing to it. */
function rotationExits(observations: Observation[], since: number): Map<string, { at: number; by: string }> {
  const inRotation = new Map<string, Set<string>>();
  const exits = new Map<string, { at: number; by: string }>();
  const leave = (pod: string, at: number, by: string) => {
    if (at >= since && !exits.has(pod)) exits.set(pod, { at, by });
  };
  for (const o of observations) {
    if (o.resource !== 'endpointslice') continue;
    const slice: V1EndpointSlice = o.object;
    const name = slice.metadata?.name ?? '';
    const before = inRotation.get(name) ?? new Set<string>();
    const now = new Set<string>();
    if (o.verb !== 'delete')
      for (const endpoint of slice.endpoints ?? []) {
        const pod = endpoint.targetRef?.kind === 'Pod' ? endpoint.targetRef.name : undefined;
        if (!pod) continue;
        if (endpoint.conditions?.terminating === true) leave(pod, o.at, 'terminating');
        else if (endpoint.conditions?.ready === false) leave(pod, o.at, 'ready: false');
        else now.add(pod);
      }
    for (const pod of before) if (!now.has(pod)) leave(pod, o.at, `removed from ${name}`);
    inRotation.set(name, now);
  }
  return exits;
}
