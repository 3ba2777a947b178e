import { integerFromEnv, TetherInvalidOptionError } from '@tether/errors';

/** The gateway's limits and timings, each with its default and unit, validated up front. */

export interface GatewayOptions {
  /** Server ping interval, ms. Below ALB's 60 s and any NAT's idle timeout. Default 25 000 (Centrifugo's). */
  pingIntervalMs: number;
  /** A peer that has not answered a ping within this is terminated, ms. Default 8 000. */
  pongTimeoutMs: number;
  /** Largest client frame, bytes; larger closes with 1009. Default 4096. */
  maxPayloadBytes: number;
  /** Unsent bytes queued for one client before it is closed as a slow consumer (1013). Default 1 MiB. */
  maxBufferedBytes: number;
  /** Client messages per second (token bucket refill), per connection. Default 20. */
  messagesPerSecond: number;
  /** Token bucket size (burst), per connection. Default 40. */
  messageBurst: number;
  /** Rate-limited messages after which the connection is closed with 1008. Default 100. */
  maxRateLimited: number;
  /** Subscriptions per connection. Default 100. */
  maxSubscriptions: number;
  /** Open connections per user (token `sub`); more are refused with HTTP 429 before the upgrade. Default 20. */
  maxConnectionsPerUser: number;
  /** Missed events one subscribe may replay (at most 999); beyond it the client gets `reset` and re-reads the job. Default 500. */
  replayMaxEvents: number;
  /** While the Redis stream is unreadable, how often subscribed jobs are read from Postgres instead, ms. Default 1000. */
  fallbackPollMs: number;
}

export const defaultGatewayOptions: GatewayOptions = {
  pingIntervalMs: 25_000,
  pongTimeoutMs: 8_000,
  maxPayloadBytes: 4_096,
  maxBufferedBytes: 1_048_576,
  messagesPerSecond: 20,
  messageBurst: 40,
  maxRateLimited: 100,
  maxSubscriptions: 100,
  maxConnectionsPerUser: 20,
  replayMaxEvents: 500,
  fallbackPollMs: 1_000,
};

/**
 * A bad gateway option or `WS_*` variable: the shared `TetherInvalidOptionError`.
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class).
 */
export const GatewayOptionError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type GatewayOptionError = TetherInvalidOptionError;

export function resolveGatewayOptions(options: Partial<GatewayOptions> = {}): GatewayOptions {
  const resolved = { ...defaultGatewayOptions, ...options };
  for (const [field, value] of Object.entries(resolved)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new TetherInvalidOptionError(field, 'must be a number > 0', { value });
  }
  if (resolved.replayMaxEvents > 999) {
    throw new TetherInvalidOptionError('replayMaxEvents', 'must be <= 999', {
      value: resolved.replayMaxEvents,
    });
  }
  if (resolved.pongTimeoutMs >= resolved.pingIntervalMs) {
    throw new TetherInvalidOptionError(
      'pongTimeoutMs',
      `must be < pingIntervalMs (${resolved.pingIntervalMs})`,
      {
        value: resolved.pongTimeoutMs,
      },
    );
  }
  return resolved;
}

/** `WS_PING_INTERVAL_MS`, `WS_MAX_SUBSCRIPTIONS`, …: every option as an env var (upper snake case, `WS_` prefix). */
export function gatewayOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<GatewayOptions> {
  const out: Partial<GatewayOptions> = {};
  for (const field of Object.keys(defaultGatewayOptions) as (keyof GatewayOptions)[]) {
    const name = `WS_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    out[field] = integerFromEnv(env, name, 0, { min: 0 });
  }
  return out;
}
