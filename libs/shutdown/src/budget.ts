import { numberOption, TetherInvalidOptionError } from '@tether/errors';
import { LifecycleBudgetError } from './errors.ts';

export interface LifecycleBudgetInput {
  /** The pod's `terminationGracePeriodSeconds` (Kubernetes default 30). */
  terminationGracePeriodSeconds: number;
  /** The container's `lifecycle.preStop.sleep.seconds` (0 when there is none). Default 0. */
  preStopSleepSeconds?: number;
  /** `SHUTDOWN_DRAIN_DELAY_MS` as the app will see it. */
  drainDelayMs: number;
  /** `SHUTDOWN_TIMEOUT_MS` as the app will see it. */
  shutdownTimeoutMs: number;
  /** Room for process exit and the kubelet's own latency. Default 2000 ms. */
  marginMs?: number;
}

export interface LifecycleBudget {
  requiredMs: number;
  availableMs: number;
  slackMs: number;
  /** Legal but probably unintended settings (e.g. preStop sleep and drain delay both set: they add up). */
  warnings: string[];
}

function field(name: string, value: unknown): number {
  if (value === undefined) throw new TetherInvalidOptionError(name, 'is required');
  return numberOption(name, value, 0, { min: 0 });
}

/**
 * Checks the contract between app and chart (ARCHITECTURE.md, "Lifecycle budget"):
 * terminationGracePeriodSeconds >= preStopSleep + drainDelay + shutdownTimeout + margin.
 * The kubelet's grace period includes the preStop hook, and SIGKILL arrives when it runs out, so an
 * app whose own deadline lies beyond it is killed mid-drain. Throws `LifecycleBudgetError` with the
 * numbers; the Helm chart mirrors this check at render time.
 */
export function checkLifecycleBudget(input: LifecycleBudgetInput): LifecycleBudget {
  const graceMs = field('terminationGracePeriodSeconds', input.terminationGracePeriodSeconds) * 1000;
  const preStopMs = field('preStopSleepSeconds', input.preStopSleepSeconds ?? 0) * 1000;
  const drainDelayMs = field('drainDelayMs', input.drainDelayMs);
  const shutdownTimeoutMs = field('shutdownTimeoutMs', input.shutdownTimeoutMs);
  const marginMs = field('marginMs', input.marginMs ?? 2000);
  const requiredMs = preStopMs + drainDelayMs + shutdownTimeoutMs + marginMs;
  if (graceMs < requiredMs) {
    throw new LifecycleBudgetError(
      `terminationGracePeriodSeconds (${graceMs / 1000} s) must be >= preStop sleep (${preStopMs / 1000} s)` +
        ` + SHUTDOWN_DRAIN_DELAY_MS (${drainDelayMs} ms) + SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs} ms)` +
        ` + margin (${marginMs} ms) = ${requiredMs / 1000} s; raise the grace period or lower the others`,
      requiredMs,
      graceMs,
    );
  }
  const warnings: string[] = [];
  if (preStopMs > 0 && drainDelayMs > 0) {
    warnings.push(
      'preStop sleep and SHUTDOWN_DRAIN_DELAY_MS are both set: they add up; ' +
        'set the drain delay to 0 when the preStop sleep covers endpoint propagation',
    );
  }
  if (preStopMs === 0 && drainDelayMs === 0) {
    warnings.push(
      'neither a preStop sleep nor SHUTDOWN_DRAIN_DELAY_MS: listeners close while endpoint removal ' +
        'still propagates, so new connections are refused',
    );
  }
  return { requiredMs, availableMs: graceMs, slackMs: graceMs - requiredMs, warnings };
}
