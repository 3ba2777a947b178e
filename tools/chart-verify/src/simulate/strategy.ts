/** The Deployment's RollingUpdate numbers, resolved the way the Deployment controller resolves them. */
import type { IntOrString } from '@kubernetes/client-node';
import { UsageError } from './options.ts';

export interface ResolvedStrategy {
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  minReadyMs: number;
  progressDeadlineMs: number;
}

function scaled(name: string, value: IntOrString | undefined, replicas: number, roundUp: boolean): number {
  if (value === undefined) return scaled(name, '25%', replicas, roundUp);
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match)
    throw new UsageError(`strategy.rollingUpdate.${name} must be a number or a percentage, got "${value}"`);
  const exact = (Number(match[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge rounds up, maxUnavailable down, both default 25%; both 0 means maxUnavailable 1 (ResolveFenceposts). */
export function resolveStrategy(
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    progressDeadlineSeconds?: number;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString } };
  },
  replicasOverride?: number,
): ResolvedStrategy {
  const type = spec.strategy?.type ?? 'RollingUpdate';
  if (type !== 'RollingUpdate')
    throw new UsageError(`strategy ${type} is not emulated; only RollingUpdate is`);
  const replicas = replicasOverride ?? spec.replicas ?? 1;
  const maxSurge = scaled('maxSurge', spec.strategy?.rollingUpdate?.maxSurge, replicas, true);
  let maxUnavailable = scaled(
    'maxUnavailable',
    spec.strategy?.rollingUpdate?.maxUnavailable,
    replicas,
    false,
  );
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return {
    replicas,
    maxSurge,
    maxUnavailable,
    minReadyMs: (spec.minReadySeconds ?? 0) * 1000,
    progressDeadlineMs: (spec.progressDeadlineSeconds ?? 600) * 1000,
  };
}
