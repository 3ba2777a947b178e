/**
 * WebSocket clients following jobs through @tether/ws-client, recording every event they are handed
 * (the client's promise: each event once, in order, across reconnects) and every disconnection.
 */
import { WsClient } from '@tether/ws-client';

/** A client's time away: from a disconnection to the next open. */
export interface Gap {
  startMs: number;
  endMs?: number;
}

export interface FollowersOptions {
  url: string;
  token: string;
  clients: number;
  /** How many clients subscribe to each job. */
  followersPerJob: number;
}

export class Followers {
  /** Event ids received per job, in arrival order (over all clients following it, per client). */
  readonly received = new Map<string, Map<number, string[]>>();
  readonly gaps: Gap[][] = [];
  private readonly clients: WsClient[] = [];
  private readonly options: FollowersOptions;
  private next = 0;

  constructor(options: FollowersOptions) {
    this.options = options;
    for (let i = 0; i < options.clients; i++) {
      const client = new WsClient({ url: options.url, token: options.token });
      const gaps: Gap[] = [];
      this.gaps.push(gaps);
      client.on('event', (event) => {
        const byClient = this.received.get(event.jobId) ?? new Map<number, string[]>();
        this.received.set(event.jobId, byClient);
        const ids = byClient.get(i) ?? [];
        byClient.set(i, ids);
        ids.push(event.id);
      });
      client.on('disconnected', () => {
        const last = gaps.at(-1);
        if (!last || last.endMs !== undefined) gaps.push({ startMs: Date.now() });
      });
      client.on('open', () => {
        const last = gaps.at(-1);
        if (last && last.endMs === undefined) last.endMs = Date.now();
      });
      this.clients.push(client);
    }
  }

  /** Resolves when every client is connected. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.clients.some((c) => c.state !== 'open')) {
      if (Date.now() > deadline) throw new Error('WebSocket clients did not all connect');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Whether every client is connected now. */
  allOpen(): boolean {
    return this.clients.every((c) => c.state === 'open');
  }

  /** Subscribes `followersPerJob` clients (round robin) to the job. */
  follow(jobId: string): void {
    for (let k = 0; k < Math.min(this.options.followersPerJob, this.clients.length); k++) {
      const index = this.next++ % this.clients.length;
      this.clients[index]?.subscribe(jobId);
      const byClient = this.received.get(jobId) ?? new Map<number, string[]>();
      byClient.set(index, byClient.get(index) ?? []);
      this.received.set(jobId, byClient);
    }
  }

  /** Whether every follower of `jobId` has received event `lastSeq`. */
  hasAll(jobId: string, lastSeq: number): boolean {
    const byClient = this.received.get(jobId);
    if (!byClient) return false;
    return [...byClient.values()].every((ids) => ids.includes(String(lastSeq)));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
