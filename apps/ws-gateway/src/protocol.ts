/**
 * The gateway's wire protocol (docs/architecture.md, "WebSocket gateway"): what clients may send,
 * and the frames and close codes the gateway answers with.
 */
import type { JobEvent } from '@tether/jobs';
import { z } from 'zod';

const jobId = z.string().uuid();
// Event ids are the job's own sequence numbers, as decimal strings ("1", "2", …).
const eventId = z.string().regex(/^(0|[1-9]\d{0,9})$/, 'must be an event id ("1", "2", …)');

export const clientMessage = z.discriminatedUnion('op', [
  z.object({ op: z.literal('subscribe'), jobId, after: eventId.optional() }).strict(),
  z.object({ op: z.literal('unsubscribe'), jobId }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessage>;

/** Stable codes of `{"op":"error"}` frames. */
export type ErrorCode =
  'not_found' | 'bad_request' | 'rate_limited' | 'too_many_subscriptions' | 'unavailable';

export const CLOSE = {
  /** Service restart: reconnect (to another replica) and resume. */
  serviceRestart: 1012,
  /** Policy violation: a client that keeps breaking the limits. */
  policy: 1008,
  /** A frame larger than `maxPayloadBytes` (ws closes with it by itself). */
  tooBig: 1009,
  /** Try again later: a slow consumer whose unsent bytes passed the threshold. */
  tryAgainLater: 1013,
  /** The token expired (or was invalid): refresh it, then reconnect. */
  tokenInvalid: 4401,
} as const;

// One routed event goes to every subscriber of its job as the same object: serialise it once, not
// once per socket (5,000 followers of one job were 5,000 JSON.stringify calls per event).
const frames = new WeakMap<JobEvent, string>();

export function eventFrame(event: JobEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = JSON.stringify({
      id: String(event.seq),
      jobId: event.jobId,
      type: event.type,
      data: event.data,
      ts: event.createdAt.toISOString(),
    });
    frames.set(event, frame);
  }
  return frame;
}

export function controlFrame(frame: Record<string, unknown>): string {
  return JSON.stringify(frame);
}

export function errorFrame(code: ErrorCode, message: string, jobId?: string): string {
  return JSON.stringify({ op: 'error', ...(jobId ? { jobId } : {}), code, message });
}
