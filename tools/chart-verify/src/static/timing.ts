/**
 * The durations the lifecycle rules add up, read from a container spec: the preStop hook, the
 * grace period, the app's drain delay and shutdown timeout (from env vars named in the config).
 */
import type { V1Container, V1PodSpec, V1Probe } from '@kubernetes/client-node';
import type { DurationEnv } from './config.ts';

/** Kubernetes' defaults when a field is left out. */
export const defaults = { gracePeriodSeconds: 30, periodSeconds: 10, failureThreshold: 3 } as const;

export interface PreStop {
  present: boolean;
  /** Seconds it holds the container before SIGTERM; 0 when absent or unknown. */
  seconds: number;
  /** How it was read: `sleep 10 s`, `exec sleep 5 s`, or why the duration is unknown. */
  text: string;
}

/** A preStop `sleep` action, or an exec running `sleep N` (directly or through `sh -c`). */
export function preStopOf(container: V1Container): PreStop {
  const preStop = container.lifecycle?.preStop;
  if (!preStop) return { present: false, seconds: 0, text: 'no preStop' };
  if (preStop.sleep)
    return {
      present: true,
      seconds: preStop.sleep.seconds,
      text: `preStop sleep ${preStop.sleep.seconds} s`,
    };
  const command = preStop.exec?.command ?? [];
  const script =
    command[0] === 'sleep'
      ? command.join(' ')
      : /(^|\/)(ba|da)?sh$/.test(command[0] ?? '')
        ? (command.at(-1) ?? '')
        : '';
  const match = /^\s*sleep\s+(\d+(?:\.\d+)?)s?\s*$/.exec(script);
  if (match) return { present: true, seconds: Number(match[1]), text: `preStop exec sleep ${match[1]} s` };
  return { present: true, seconds: 0, text: 'a preStop whose duration static cannot read (counted as 0 s)' };
}

export function gracePeriodOf(pod: V1PodSpec): number {
  return pod.terminationGracePeriodSeconds ?? defaults.gracePeriodSeconds;
}

export type EnvDuration =
  | { kind: 'absent' }
  | { kind: 'seconds'; name: string; seconds: number }
  | { kind: 'unreadable'; name: string; why: string };

/** The first of `envs` the container sets, converted to seconds. */
export function envDuration(container: V1Container, envs: DurationEnv[]): EnvDuration {
  for (const env of envs) {
    const entry = container.env?.find((e) => e.name === env.name);
    if (!entry) continue;
    if (entry.value === undefined)
      return {
        kind: 'unreadable',
        name: env.name,
        why: `${env.name} comes from valueFrom, and static reads literal values only`,
      };
    const value = Number(entry.value);
    if (!Number.isFinite(value) || value < 0)
      return {
        kind: 'unreadable',
        name: env.name,
        why: `${env.name} is "${entry.value}", not a duration in ${env.unit}`,
      };
    return { kind: 'seconds', name: env.name, seconds: env.unit === 'ms' ? value / 1000 : value };
  }
  return { kind: 'absent' };
}

/** `SHUTDOWN_TIMEOUT_MS 15 s`, or `no SHUTDOWN_TIMEOUT_MS 0 s` when the container does not set it. */
export function describeEnv(duration: EnvDuration, envs: DurationEnv[]): string {
  if (duration.kind === 'seconds') return `${duration.name} ${seconds(duration.seconds)}`;
  return `no ${envs.map((e) => e.name).join('/')} 0 s`;
}

/** Seconds, rounded to a millisecond, with the unit. */
export function seconds(value: number): string {
  return `${Math.round(value * 1000) / 1000} s`;
}

/** How long a failing readiness probe takes to turn the pod unready. */
export function readinessWindowOf(probe: V1Probe): { seconds: number; text: string } {
  const period = probe.periodSeconds ?? defaults.periodSeconds;
  const failures = probe.failureThreshold ?? defaults.failureThreshold;
  return {
    seconds: period * failures,
    text: `periodSeconds ${period} x failureThreshold ${failures} = ${period * failures} s`,
  };
}
