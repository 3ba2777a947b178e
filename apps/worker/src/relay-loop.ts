import { JOB_EVENTS_STREAM, relayBatch, type StreamEntry } from '@tether/jobs';
import type { TetherPgPool, TetherRedis } from '@tether/pooling';
import { createBackoff } from '@tether/retry';
import type { Logger } from '@tether/telemetry';

export interface RelayLoopOptions {
  pollMs: number;
  streamMaxLen: number;
  batchSize?: number;
}

/**
 * The outbox relay: moves job events from Postgres (the record) to the Redis Stream, oldest first,
 * until stopped. Every worker runs one; an advisory lock lets one batch run at a time. While Redis is
 * down, batches fail and roll back, nothing is marked, and the loop backs off; once Redis answers, the
 * backlog drains in order.
 */
export class RelayLoop {
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 5_000 });
  private readonly db: TetherPgPool;
  private readonly redis: TetherRedis;
  private readonly options: RelayLoopOptions;
  private readonly logger: Logger;

  constructor(db: TetherPgPool, redis: TetherRedis, options: RelayLoopOptions, logger: Logger) {
    this.db = db;
    this.redis = redis;
    this.options = options;
    this.logger = logger;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops after the batch in flight (if any). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      let delayMs = this.options.pollMs;
      try {
        const batch = await this.db.transaction((c) => relayBatch(c, (e) => this.write(e), this.batchSize), {
          name: 'relay.batch',
        });
        if (failing) this.logger.info({}, 'event relay: Redis reachable again, backlog draining');
        failing = false;
        this.backoff.reset();
        if (batch.relayed === this.batchSize) delayMs = 0;
      } catch (error) {
        if (!failing) this.logger.warn({ err: error }, 'event relay: batch failed, retrying with backoff');
        failing = true;
        delayMs = this.backoff.next();
      }
      if (delayMs > 0 && !this.stopped)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
    }
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 500;
  }

  /** One pipeline, in order; any failed entry fails the batch (it is sent again, at least once). */
  private async write(entries: StreamEntry[]): Promise<void> {
    const results = await this.redis.execute(
      (client) => {
        const pipeline = client.pipeline();
        for (const e of entries) {
          pipeline.xadd(
            JOB_EVENTS_STREAM,
            'MAXLEN',
            '~',
            this.options.streamMaxLen,
            '*',
            'jobId',
            e.jobId,
            'seq',
            e.seq,
            'type',
            e.type,
            'owner',
            e.owner,
            'data',
            e.data,
            'ts',
            e.ts,
          );
        }
        return pipeline.exec();
      },
      { name: 'relay.xadd', deadlineMs: 5_000 },
    );
    const failed =
      results?.find(([error]) => error) ?? (results ? undefined : [new Error('pipeline discarded')]);
    if (failed) throw failed[0];
  }
}
