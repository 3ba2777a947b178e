/**
 * Steady open-loop HTTP load, as a well-behaved client of the API contract sends it: new requests
 * start on schedule whatever happens to earlier ones (so a fresh request probes recovery), and each
 * logical request is retried only where that is safe:
 *
 * - 503/429/502/504 (with `Retry-After`, capped at 1 s) and a refused connection: always;
 * - a reset, a timeout or any other network error: only for GETs and POSTs with an Idempotency-Key
 *   (the server may have done the work; only the key makes repeating it safe);
 * - anything else is a failed request, as is running out of `deadlineMs`.
 *
 * Retries back off exponentially (100 ms doubling to 1 s, jittered); at most `maxInFlight` logical
 * requests are under way, as with a client's connection pool.
 */
import { randomUUID } from 'node:crypto';

export type RequestKind = 'get' | 'post';

/** One HTTP exchange. */
export interface Attempt {
  kind: RequestKind;
  startMs: number;
  endMs: number;
  ok: boolean;
  /** HTTP status, or the network error code. */
  outcome: string;
}

/** One logical request with all its attempts. */
export interface RequestRecord {
  kind: RequestKind;
  /** Idempotency-Key (keyed POSTs) or request id (unkeyed POSTs). */
  key?: string;
  startMs: number;
  endMs: number;
  ok: boolean;
  attempts: number;
  jobId?: string;
  /** Last outcome of a failed request. */
  error?: string;
  /** Idempotent: GETs and POSTs with an Idempotency-Key; an unkeyed POST is not. */
  idempotent: boolean;
}

export interface LoadOptions {
  baseUrl: string;
  token?: string;
  /** Send an Idempotency-Key with each POST (the Tether API); off for the naive control. */
  keyed: boolean;
  /** Requests started per second (GETs and POSTs together). */
  ratePerS: number;
  /** Share of POSTs, 0..1. */
  postShare: number;
  /** Give up on a logical request after this long, ms. */
  deadlineMs: number;
  /** One attempt's timeout, ms. */
  attemptTimeoutMs: number;
  /** Prefix of the keys, so a scenario's jobs can be found in the database. */
  keyPrefix: string;
  /** POST body. */
  job: { type: string; payload: Record<string, unknown> };
  /** Called with each accepted job. */
  onAccepted?: (jobId: string) => void;
  /**
   * A new connection for every attempt (`Connection: close`) instead of a keep-alive pool: every
   * request goes through the balancer's routing decision, as a fleet of browsers and short-lived
   * clients does, so a rollout's routing window is met by many requests rather than by none.
   */
  freshConnections?: boolean;
  /**
   * Logical requests in flight at most (a client's connection pool); a request due while the client
   * is at this cap is not sent and is counted in `skipped`. Default 100.
   */
  maxInFlight?: number;
}

const ALWAYS_RETRY_STATUS = new Set([429, 502, 503, 504]);

/** Network error code of a failed fetch (undici puts it on `cause`). */
function networkCode(error: unknown): string {
  const e = error as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError') return 'timeout';
  return e.cause?.code ?? e.cause?.name ?? e.name ?? 'error';
}

export class HttpLoad {
  readonly attempts: Attempt[] = [];
  readonly requests: RequestRecord[] = [];
  /** Requests not sent because `maxInFlight` were under way. */
  skipped = 0;
  private readonly options: LoadOptions;
  private readonly pending = new Set<Promise<void>>();
  private readonly accepted: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(options: LoadOptions) {
    this.options = options;
  }

  start(): void {
    const intervalMs = 1000 / this.options.ratePerS;
    let due = performance.now();
    const tick = () => {
      const now = performance.now();
      while (due <= now) {
        due += intervalMs;
        if (!this.paused) this.launch();
      }
      this.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  /** Stop starting requests (an idle period) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Stop starting requests and wait for the ones under way to settle. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private launch(): void {
    if (this.pending.size >= (this.options.maxInFlight ?? 100)) {
      this.skipped++;
      return;
    }
    const isPost = this.accepted.length === 0 || Math.random() < this.options.postShare;
    const run = isPost ? this.post() : this.get();
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }

  private headers(): Record<string, string> {
    return {
      ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      ...(this.options.freshConnections ? { connection: 'close' } : {}),
    };
  }

  private async get(): Promise<void> {
    const id = this.accepted[Math.floor(Math.random() * this.accepted.length)] as string;
    await this.request('get', undefined, true, () => ({ url: `/v1/jobs/${id}`, init: { method: 'GET' } }));
  }

  private async post(): Promise<void> {
    const key = `${this.options.keyPrefix}-${randomUUID()}`;
    const { keyed } = this.options;
    const body = JSON.stringify(this.options.job);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(keyed ? { 'idempotency-key': key } : { 'x-request-id': key }),
    };
    await this.request('post', key, keyed, () => ({
      url: '/v1/jobs',
      init: { method: 'POST', body, headers },
    }));
  }

  private async request(
    kind: RequestKind,
    key: string | undefined,
    idempotent: boolean,
    build: () => { url: string; init: RequestInit },
  ): Promise<void> {
    const record: RequestRecord = {
      kind,
      ...(key ? { key } : {}),
      startMs: Date.now(),
      endMs: 0,
      ok: false,
      attempts: 0,
      idempotent,
    };
    this.requests.push(record);
    const deadline = record.startMs + this.options.deadlineMs;
    for (;;) {
      record.attempts++;
      const { url, init } = build();
      const startMs = Date.now();
      let outcome: string;
      // Exponential backoff from 100 ms to 1 s, unless the server said when (Retry-After, capped at 1 s).
      let retryAfterMs = Math.min(1_000, 100 * 2 ** (record.attempts - 1));
      let retry = false;
      try {
        const response = await fetch(`${this.options.baseUrl}${url}`, {
          ...init,
          headers: { ...this.headers(), ...(init.headers as Record<string, string> | undefined) },
          signal: AbortSignal.timeout(
            Math.min(this.options.attemptTimeoutMs, Math.max(1, deadline - startMs)),
          ),
        });
        const text = await response.text();
        outcome = String(response.status);
        if (response.ok) {
          this.attempts.push({ kind, startMs, endMs: Date.now(), ok: true, outcome });
          if (kind === 'post') {
            const id = (JSON.parse(text) as { id?: string }).id;
            if (id) {
              record.jobId = id;
              this.accepted.push(id);
              this.options.onAccepted?.(id);
            }
          }
          record.ok = true;
          record.endMs = Date.now();
          return;
        }
        retry = ALWAYS_RETRY_STATUS.has(response.status) || (response.status === 409 && idempotent);
        const header = Number(response.headers.get('retry-after'));
        if (Number.isFinite(header) && header > 0) retryAfterMs = Math.min(header * 1000, 1000);
      } catch (error) {
        outcome = networkCode(error);
        retry = outcome === 'ECONNREFUSED' || idempotent;
      }
      this.attempts.push({ kind, startMs, endMs: Date.now(), ok: false, outcome });
      record.error = outcome;
      const wait = retryAfterMs * (0.5 + Math.random() / 2);
      if (!retry || Date.now() + wait >= deadline) {
        record.endMs = Date.now();
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
