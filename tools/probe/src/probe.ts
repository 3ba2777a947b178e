/**
 * The idle probe: how long does this network path keep an idle TCP connection?
 *
 * Each round opens a few connections at once (keepalive off), leaves each idle for a different
 * interval spread over the range still in doubt, then checks it with one protocol round trip. The
 * longest idle that survived and the shortest that died bracket the path's idle timeout; the next
 * round splits that bracket again until it is narrower than `resolutionMs`. A control connection
 * with TCP keepalive idles as long as the longest probe, to show whether keepalive keeps the path
 * open. Everything is bounded: connections per round, rounds, and the longest idle.
 */
import { openConnection, type Outcome, type Target } from './target.ts';

export interface ProbeOptions {
  /** Longest idle interval tried (ms). Default 900 000 (15 min: above AWS 350 s and Azure 240 s). */
  maxIdleMs?: number;
  /** Stop refining once the bracket is at most this wide (ms). Default 10 000, or maxIdleMs / 10 if smaller. */
  resolutionMs?: number;
  /** Connections idling at once in a round (1 to 32). Default 8. */
  connections?: number;
  /** A round trip that has not answered after this long counts as dead, silently (ms). Default 5000. */
  roundTripTimeoutMs?: number;
  /** Keepalive delay of the control connection (ms). Default 10 000. */
  keepAliveMs?: number;
  /** Rounds at most (1 to 10). Default 4. */
  maxRounds?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface Observation {
  /** How long the connection really sat idle: from the last reply to the next request (ms). */
  idleMs: number;
  outcome: Outcome;
}

export interface ProbeResult {
  target: string;
  /** Longest idle interval after which the round trip still succeeded (ms); 0 if none did. */
  longestSurvivedMs: number;
  /** Shortest idle interval after which it failed (ms); undefined when every interval survived. */
  shortestDiedMs: number | undefined;
  /** How the dead connections showed it, most common first. */
  deaths: { outcome: Exclude<Outcome, 'ok'>; count: number }[];
  /** The keepalive control: did a connection with keepalive survive the longest idle? */
  keepAlive: { delayMs: number; idleMs: number; outcome: Outcome };
  /** A death shorter than a survival: the path is not a plain idle timer (load balancing, restarts). */
  inconsistent: boolean;
  observations: Observation[];
  durationMs: number;
}

const defaults = {
  maxIdleMs: 900_000,
  resolutionMs: 10_000,
  connections: 8,
  roundTripTimeoutMs: 5_000,
  keepAliveMs: 10_000,
  maxRounds: 4,
};

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number from ${min} to ${max} (got ${value})`);
  }
}

function resolveOptions(options: ProbeOptions): Required<Omit<ProbeOptions, 'log'>> {
  const maxIdleMs = options.maxIdleMs ?? defaults.maxIdleMs;
  // A short range gets a proportionally finer default resolution (10 s suits the 15 min default).
  const resolutionMs =
    options.resolutionMs ?? Math.min(defaults.resolutionMs, Math.max(100, Math.round(maxIdleMs / 10)));
  const resolved = { ...defaults, ...options, maxIdleMs, resolutionMs };
  checkRange('maxIdleMs', resolved.maxIdleMs, 1_000, 7_200_000);
  checkRange('resolutionMs', resolved.resolutionMs, 100, resolved.maxIdleMs);
  checkRange('connections', resolved.connections, 1, 32);
  checkRange('roundTripTimeoutMs', resolved.roundTripTimeoutMs, 100, 60_000);
  checkRange('keepAliveMs', resolved.keepAliveMs, 1_000, 7_200_000);
  checkRange('maxRounds', resolved.maxRounds, 1, 10);
  return resolved;
}

/** One connection: open, idle for `idleMs`, one round trip. */
async function idleOnce(
  target: Target,
  idleMs: number,
  timeoutMs: number,
  keepAliveMs?: number,
): Promise<Observation> {
  const connection = await openConnection(target, { timeoutMs, keepAliveMs });
  try {
    await new Promise((r) => setTimeout(r, Math.max(0, connection.lastReplyAt + idleMs - Date.now())));
    const actualIdle = Date.now() - connection.lastReplyAt;
    return { idleMs: actualIdle, outcome: await connection.roundTrip(timeoutMs) };
  } finally {
    connection.close();
  }
}

function spread(low: number, high: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(low + ((high - low) * (i + 1)) / count));
}

export async function probeIdle(target: Target, options: ProbeOptions = {}): Promise<ProbeResult> {
  const o = resolveOptions(options);
  const log = options.log ?? (() => {});
  const started = Date.now();
  const observations: Observation[] = [];
  let low = 0;
  let high = o.maxIdleMs;
  let keepAlive: ProbeResult['keepAlive'] | undefined;
  for (let round = 1; round <= o.maxRounds; round++) {
    const intervals = spread(low, high, o.connections);
    log(
      `round ${round}: ${intervals.length} connections idle for ${intervals.map((ms) => `${ms / 1000}s`).join(', ')}`,
    );
    const control =
      round === 1
        ? idleOnce(target, o.maxIdleMs, o.roundTripTimeoutMs, o.keepAliveMs).then((seen) => {
            keepAlive = { delayMs: o.keepAliveMs, idleMs: seen.idleMs, outcome: seen.outcome };
          })
        : Promise.resolve();
    // Settle every connection of the round before reporting a failure, so none is left behind.
    const settled = await Promise.allSettled([
      control,
      ...intervals.map((ms) => idleOnce(target, ms, o.roundTripTimeoutMs)),
    ]);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    observations.push(...settled.slice(1).map((s) => (s as PromiseFulfilledResult<Observation>).value));
    const survived = observations.filter((s) => s.outcome === 'ok').map((s) => s.idleMs);
    const died = observations.filter((s) => s.outcome !== 'ok').map((s) => s.idleMs);
    low = Math.max(0, ...survived);
    if (died.length === 0) break; // nothing died up to maxIdleMs
    high = Math.min(...died);
    if (high - low <= o.resolutionMs || high <= low) break;
  }
  const survived = observations.filter((s) => s.outcome === 'ok').map((s) => s.idleMs);
  const died = observations.filter((s) => s.outcome !== 'ok');
  const counts = new Map<Exclude<Outcome, 'ok'>, number>();
  for (const d of died)
    counts.set(d.outcome as Exclude<Outcome, 'ok'>, (counts.get(d.outcome as never) ?? 0) + 1);
  const longestSurvivedMs = Math.max(0, ...survived);
  const shortestDiedMs = died.length ? Math.min(...died.map((d) => d.idleMs)) : undefined;
  return {
    target: target.display,
    longestSurvivedMs,
    shortestDiedMs,
    deaths: [...counts].map(([outcome, count]) => ({ outcome, count })).sort((a, b) => b.count - a.count),
    keepAlive: keepAlive as ProbeResult['keepAlive'],
    inconsistent: shortestDiedMs !== undefined && shortestDiedMs < longestSurvivedMs,
    observations: observations.sort((a, b) => a.idleMs - b.idleMs),
    durationMs: Date.now() - started,
  };
}
