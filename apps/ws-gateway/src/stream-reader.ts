/**
 * One Redis read loop per gateway (not per client): blocking XREADs on a dedicated worker-profile
 * connection, from the last entry it saw, handed to the hub to route in memory. Consumer groups
 * would split the events between gateways; every gateway needs every event.
 *
 * While the stream cannot be read (Redis down or failing over) the gateway is degraded, not unready:
 * `onHealth(false)` switches the hub to polling Postgres, and once a read succeeds again one more
 * catch-up covers whatever the stream lost meanwhile (a trim past our position, a relay that ran
 * while we were away).
 */
import { JOB_EVENTS_STREAM, type JobEvent, type StreamEntry } from '@tether/jobs';
import type { TetherRedis } from '@tether/pooling';
import type { Redis } from 'ioredis';

const BLOCK_MS = 5_000;
const BATCH = 500;

export interface StreamReaderOptions {
  redis: TetherRedis;
  onEvents: (events: JobEvent[]) => void;
  onHealth: (healthy: boolean) => void;
  /** Pause between failed reads, ms. */
  retryDelayMs?: number;
  log?: (message: string, error?: unknown) => void;
}

function toEvent(fields: string[]): JobEvent | undefined {
  const entry: Partial<Record<keyof StreamEntry, string>> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] as keyof StreamEntry] = fields[i + 1];
  const seq = Number(entry.seq);
  if (!entry.jobId || !Number.isInteger(seq) || !entry.type) return undefined;
  let data: Record<string, unknown> = {};
  try {
    data = entry.data ? (JSON.parse(entry.data) as Record<string, unknown>) : {};
  } catch {
    // a malformed entry keeps its id and type; the data is in Postgres
  }
  return {
    jobId: entry.jobId,
    seq,
    type: entry.type as JobEvent['type'],
    data,
    createdAt: entry.ts ? new Date(entry.ts) : new Date(),
  };
}

export class StreamReader {
  private readonly options: StreamReaderOptions;
  private lastId: string | undefined;
  private stopped = false;
  private healthy = true;
  private loop: Promise<void> | undefined;

  constructor(options: StreamReaderOptions) {
    this.options = options;
  }

  /** Starts reading at the stream's current end (subscribers get older events from Postgres). */
  start(): void {
    this.loop ??= this.run();
  }

  private get client(): Redis {
    return this.options.redis.client as Redis;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.lastId === undefined) {
          const [last] = (await this.client.xrevrange(JOB_EVENTS_STREAM, '+', '-', 'COUNT', 1)) as [
            string,
            string[],
          ][];
          this.lastId = last?.[0] ?? '0-0';
        }
        const reply = (await this.client.xread(
          'COUNT',
          BATCH,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          JOB_EVENTS_STREAM,
          this.lastId,
        )) as [string, [string, string[]][]][] | null;
        this.health(true);
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        this.lastId = entries[entries.length - 1]![0];
        this.options.onEvents(
          entries.map(([, fields]) => toEvent(fields)).filter((e): e is JobEvent => e !== undefined),
        );
      } catch (error) {
        if (this.stopped) return;
        this.health(false, error);
        await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 500));
      }
    }
  }

  private health(healthy: boolean, error?: unknown): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    this.options.log?.(healthy ? 'job event stream readable again' : 'job event stream unreadable', error);
    this.options.onHealth(healthy);
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // drain() also stops the client's reconnects; the blocked XREAD is cut at the deadline.
    await this.options.redis.drain(200);
    await this.loop?.catch(() => {});
  }
}
