/** A job event as the gateway sends it. */
export interface JobEvent {
  id: string;
  jobId: string;
  type: string;
  data: unknown;
  ts: string;
}

const NUMERIC = /^\d+$/;

/**
 * Orders two event ids of one job. The gateway's ids are ordered per job; numeric ids (a sequence or
 * a Redis-stream-like counter) are compared as BigInt so "10" comes after "9", anything else by
 * string order.
 */
export function compareEventIds(a: string, b: string): number {
  if (NUMERIC.test(a) && NUMERIC.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The subscriptions and, per job, the id of the last event delivered. On every (re)connect the
 * client subscribes again `after` that id, so the gateway replays exactly what was missed; events
 * at or before it (a replay overlapping a live push) are dropped here, so each reaches the caller once.
 */
export class ResumeState {
  private readonly cursors = new Map<string, string | undefined>();

  add(jobId: string, after: string | undefined): void {
    if (!this.cursors.has(jobId)) this.cursors.set(jobId, after);
  }

  remove(jobId: string): boolean {
    return this.cursors.delete(jobId);
  }

  has(jobId: string): boolean {
    return this.cursors.has(jobId);
  }

  /** The subscribe messages to send on a fresh connection. */
  subscribeMessages(): Array<{ op: 'subscribe'; jobId: string; after?: string }> {
    return [...this.cursors].map(([jobId, after]) =>
      after === undefined ? { op: 'subscribe', jobId } : { op: 'subscribe', jobId, after },
    );
  }

  lastEventId(jobId: string): string | undefined {
    return this.cursors.get(jobId);
  }

  /** Records the event and returns true when it is new for a subscribed job; false for a duplicate, an older id or an unsubscribed job. */
  accept(event: JobEvent): boolean {
    if (!this.cursors.has(event.jobId)) return false;
    const last = this.cursors.get(event.jobId);
    if (last !== undefined && compareEventIds(event.id, last) <= 0) return false;
    this.cursors.set(event.jobId, event.id);
    return true;
  }
}

/** A frame's JSON object, or undefined (not JSON, or not an object). */
function parseObject(raw: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

/** Parses one frame; undefined when it is not a well-formed event (the caller ignores it). */
export function parseEvent(raw: string): JobEvent | undefined {
  const { id, jobId, type, data, ts } = parseObject(raw) ?? {};
  if (typeof id !== 'string' || typeof jobId !== 'string' || typeof type !== 'string') return undefined;
  return { id, jobId, type, data, ts: typeof ts === 'string' ? ts : '' };
}

/** A `{"op":"reset","jobId","reason"}` frame: the gateway's history no longer covers the cursor. */
export function parseReset(raw: string): { jobId: string; reason: string } | undefined {
  const { op, jobId, reason } = parseObject(raw) ?? {};
  if (op !== 'reset' || typeof jobId !== 'string') return undefined;
  return { jobId, reason: typeof reason === 'string' ? reason : '' };
}
