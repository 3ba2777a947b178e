/**
 * Subscriptions and routing: which socket follows which job, and the rule that makes delivery
 * exactly-once and gap-free per job.
 *
 * Each subscription remembers the last event id (the job's own sequence number) it delivered.
 * An event is sent only when its id is exactly the next one; an older id is a duplicate (the relay
 * is at-least-once) and is dropped; a newer one reveals a gap (events the stream lost or has not
 * relayed yet), which is filled from Postgres, the record, before the event itself is sent. When the
 * record cannot fill it, the client gets `reset` — never a silent gap.
 *
 * A subscribe registers first (live events are buffered), then replays what the client missed from
 * Postgres, then flushes the buffer through the same rule: the hand-over from history to live
 * delivery has no gap and no duplicate whatever the interleaving.
 */
import { getJob, type JobEvent, type Queryable, readEvents } from '@tether/jobs';
import { controlFrame, eventFrame } from './protocol.ts';

/** The part of a connection a subscription talks to. */
export interface Subscriber {
  readonly owner: string;
  sendFrame(frame: string): void;
  /** The history could not be read: the client should come back later. */
  unavailable(reason: string): void;
}

type SubscribeOutcome = 'subscribed' | 'not_found' | 'reset' | 'unavailable';

class Subscription {
  lastSeq: number;
  live = false;
  closed = false;
  private readonly buffer: JobEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  readonly subscriber: Subscriber;
  readonly jobId: string;
  private readonly hub: Hub;

  constructor(hub: Hub, subscriber: Subscriber, jobId: string, after: number) {
    this.hub = hub;
    this.subscriber = subscriber;
    this.jobId = jobId;
    this.lastSeq = after;
  }

  /** Runs `work` after everything queued before it on this subscription. */
  serial(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work, work);
    return this.chain;
  }

  offer(events: JobEvent[]): void {
    if (this.closed) return;
    if (!this.live) {
      this.buffer.push(...events);
      return;
    }
    void this.serial(() => this.deliver(events));
  }

  /** Sends `events` (one job's, any order, possibly repeated) through the exactly-once rule. */
  async deliver(events: JobEvent[]): Promise<void> {
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (this.closed || event.seq <= this.lastSeq) continue;
      if (event.seq > this.lastSeq + 1 && !(await this.fillGap(event.seq - 1))) return;
      if (event.seq !== this.lastSeq + 1) continue; // the gap fill already sent it
      this.send(event);
    }
  }

  async flushBuffer(): Promise<void> {
    const pending = this.buffer.splice(0);
    this.live = true;
    await this.deliver(pending);
  }

  /** Reads the events up to `upTo` from Postgres; false (and a reset) when it cannot. */
  private async fillGap(upTo: number): Promise<boolean> {
    try {
      while (this.lastSeq < upTo && !this.closed) {
        const missing = await readEvents(
          this.hub.db,
          this.jobId,
          this.lastSeq,
          Math.min(1_000, upTo - this.lastSeq),
        );
        if (missing.length === 0) break;
        for (const event of missing) if (event.seq === this.lastSeq + 1) this.send(event);
      }
    } catch {
      this.reset('history_unavailable');
      return false;
    }
    if (this.lastSeq < upTo && !this.closed) {
      this.reset('history_gap');
      return false;
    }
    return true;
  }

  send(event: JobEvent): void {
    this.lastSeq = event.seq;
    this.subscriber.sendFrame(eventFrame(event));
  }

  reset(reason: string): void {
    if (this.closed) return;
    this.subscriber.sendFrame(controlFrame({ op: 'reset', jobId: this.jobId, reason }));
    this.hub.remove(this);
  }
}

export class Hub {
  readonly db: Queryable;
  private readonly replayMaxEvents: number;
  private readonly byJob = new Map<string, Set<Subscription>>();
  private readonly bySubscriber = new Map<Subscriber, Map<string, Subscription>>();

  constructor(db: Queryable, replayMaxEvents: number) {
    this.db = db;
    this.replayMaxEvents = replayMaxEvents;
  }

  /** How many jobs `subscriber` follows. */
  count(subscriber: Subscriber): number {
    return this.bySubscriber.get(subscriber)?.size ?? 0;
  }

  /**
   * Follows `jobId` for `subscriber` from the event after `after`. Someone else's job answers
   * `not_found`, exactly like a job that does not exist.
   */
  async subscribe(subscriber: Subscriber, jobId: string, after: number): Promise<SubscribeOutcome> {
    const existing = this.bySubscriber.get(subscriber)?.get(jobId);
    if (existing) this.remove(existing); // a resubscribe restarts from its own `after`
    let job;
    try {
      job = await getJob(this.db, jobId, subscriber.owner);
    } catch {
      subscriber.unavailable('job history is unavailable');
      return 'unavailable';
    }
    if (!job) return 'not_found';
    const sub = new Subscription(this, subscriber, jobId, after);
    if (after > job.lastSeq) {
      sub.reset('unknown_event_id');
      return 'reset';
    }
    this.add(sub);
    let outcome: SubscribeOutcome = 'subscribed';
    await sub.serial(async () => {
      let missed: JobEvent[];
      try {
        missed = await readEvents(this.db, jobId, after, Math.min(1_000, this.replayMaxEvents + 1));
      } catch {
        this.remove(sub);
        subscriber.unavailable('job history is unavailable');
        outcome = 'unavailable';
        return;
      }
      if (missed.length > this.replayMaxEvents) {
        sub.reset('history_exceeded');
        outcome = 'reset';
        return;
      }
      await sub.deliver(missed);
      await sub.flushBuffer();
      if (sub.closed) {
        outcome = 'reset';
        return;
      }
      subscriber.sendFrame(controlFrame({ op: 'subscribed', jobId }));
    });
    return outcome;
  }

  unsubscribe(subscriber: Subscriber, jobId: string): void {
    const sub = this.bySubscriber.get(subscriber)?.get(jobId);
    if (sub) this.remove(sub);
  }

  /** Forget everything of a connection that closed. */
  drop(subscriber: Subscriber): void {
    for (const sub of this.bySubscriber.get(subscriber)?.values() ?? []) this.remove(sub);
  }

  /** Live events (from the stream or a Postgres poll), routed to the jobs' subscribers. */
  route(events: JobEvent[]): void {
    const perJob = new Map<string, JobEvent[]>();
    for (const event of events) {
      if (!this.byJob.has(event.jobId)) continue;
      const list = perJob.get(event.jobId) ?? [];
      list.push(event);
      perJob.set(event.jobId, list);
    }
    for (const [jobId, list] of perJob) for (const sub of this.byJob.get(jobId) ?? []) sub.offer(list);
  }

  /**
   * Reads from Postgres every event the live subscriptions have not seen, in one query, and routes
   * it: the fallback while the stream is unreadable, and the catch-up once it is readable again.
   */
  async catchUp(): Promise<void> {
    const after = new Map<string, number>();
    for (const [jobId, subs] of this.byJob) {
      for (const sub of subs)
        if (sub.live) after.set(jobId, Math.min(after.get(jobId) ?? Infinity, sub.lastSeq));
    }
    if (after.size === 0) return;
    const { rows } = await this.db.query<{
      job_id: string;
      seq: number;
      type: JobEvent['type'];
      data: Record<string, unknown>;
      created_at: Date;
    }>(
      `SELECT e.job_id, e.seq, e.type, e.data, e.created_at
         FROM unnest($1::uuid[], $2::int[]) AS s(job_id, after)
         JOIN tether_job_events e ON e.job_id = s.job_id AND e.seq > s.after
        ORDER BY e.job_id, e.seq`,
      [[...after.keys()], [...after.values()]],
    );
    this.route(
      rows.map((r) => ({ jobId: r.job_id, seq: r.seq, type: r.type, data: r.data, createdAt: r.created_at })),
    );
  }

  private add(sub: Subscription): void {
    const subs = this.byJob.get(sub.jobId) ?? new Set();
    subs.add(sub);
    this.byJob.set(sub.jobId, subs);
    const mine = this.bySubscriber.get(sub.subscriber) ?? new Map();
    mine.set(sub.jobId, sub);
    this.bySubscriber.set(sub.subscriber, mine);
  }

  remove(sub: Subscription): void {
    sub.closed = true;
    const subs = this.byJob.get(sub.jobId);
    subs?.delete(sub);
    if (subs?.size === 0) this.byJob.delete(sub.jobId);
    const mine = this.bySubscriber.get(sub.subscriber);
    if (mine?.get(sub.jobId) === sub) mine.delete(sub.jobId);
    if (mine?.size === 0) this.bySubscriber.delete(sub.subscriber);
  }
}
