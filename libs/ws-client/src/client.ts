import {
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { type Backoff, createBackoff, InvalidOptionError, type TetherError } from '@tether/retry';
// A conditional subpath import (package.json "imports"): ws + node:events on Node, the native WebSocket
// in browsers. A relative import cannot choose by condition, hence the exception to the lint rule.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { checkPlatformOptions, Emitter, transport } from '#platform';
import {
  WsAuthError,
  WsClientClosedError,
  WsConnectionError,
  WsHeartbeatTimeoutError,
  WsRejectedError,
  WsTokenTimeoutError,
} from './errors.ts';
import { type Heartbeat, startHeartbeat } from './heartbeat.ts';
import { resolveOptions, type ResolvedWsClientOptions, type WsClientOptions } from './options.ts';
import { type JobEvent, parseEvent, parseReset, ResumeState } from './resume.ts';
import type { Connection } from './transport.ts';

export type WsClientState = 'connecting' | 'open' | 'waiting' | 'closed';

/** Why a connection ended and what the client does next. */
export interface DisconnectInfo {
  /** `restart`: the server said 1012/1001, reconnect promptly elsewhere. `failure`: reconnect with backoff. */
  reason: 'restart' | 'failure';
  /** The close code (1006 for an abrupt end or a failed connect). */
  code: number;
  error: TetherError | undefined;
  /**
   * Failures in a row since the last stable connection. A restart close counts only when it is not
   * the first since the last stable connection (see `restartsBeforeBackoff`).
   */
  failures: number;
  /** The next connect starts after this delay. */
  delayMs: number;
}

/** The gateway could no longer cover a job's cursor from its history (`reset` frame). */
export interface ResetInfo {
  jobId: string;
  /** The gateway's reason (`history_exceeded`, `history_gap`, …). */
  reason: string;
  /** True when `onReset` returned and the job was resubscribed. */
  resumed: boolean;
  /** The id it was resubscribed after (undefined: from the start, or not resumed). */
  resumedAfter: string | undefined;
  /** What `onReset` threw; the job was dropped from the subscriptions. */
  error?: unknown;
}

export interface WsClientEvents {
  event: [event: JobEvent];
  /** After a `reset` frame was handled (see `onReset`). */
  reset: [info: ResetInfo];
  open: [];
  disconnected: [info: DisconnectInfo];
  /** Final: after `close()` (no error) or a permanent failure such as refused credentials. */
  closed: [error: TetherError | undefined];
}

// Close codes the gateway (or a proxy in front of it) sends when it goes away on purpose.
const RESTART_CODES = new Set([1001, 1012]);
const AUTH_CLOSE_CODES = new Set([4401, 4403]);

/**
 * A WebSocket client for the gateway's `/v1/stream` that stays subscribed across restarts, network
 * faults and dead peers, delivering each job event once and in order. It connects on construction.
 * The platform comes from `#platform` (package.json "imports"): `ws` and node:events on Node, the
 * native WebSocket and eventemitter3 under the "browser" condition; everything here runs on both.
 */
export class WsClient extends Emitter<WsClientEvents> {
  private readonly options: ResolvedWsClientOptions;
  private readonly backoff: Backoff;
  private readonly resume = new ResumeState();
  private readonly tracer: Tracer;
  private socket: Connection | undefined;
  private currentState: WsClientState = 'connecting';
  private failures = 0;
  private restartsSinceStable = 0;
  private abortToken: (() => void) | undefined;
  /** Where the client was created: linked from every connect span, never their parent. */
  private readonly creationLinks: Link[];
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: Heartbeat | undefined;
  /** Called once the current socket has closed, while close() waits for it. */
  private onSocketClosed: (() => void) | undefined;
  private heartbeatError: WsHeartbeatTimeoutError | undefined;
  private closeError: TetherError | undefined;
  private closing: Promise<void> | undefined;
  private readonly closedPromise: Promise<TetherError | undefined>;
  private resolveClosed!: (error: TetherError | undefined) => void;
  /** Jobs whose `onReset` is running; unsubscribing meanwhile cancels the resubscribe. */
  private readonly resetting = new Set<string>();

  constructor(options: WsClientOptions) {
    super();
    this.options = resolveOptions(options);
    checkPlatformOptions(options);
    this.backoff = createBackoff({
      initialDelayMs: this.options.initialReconnectDelayMs,
      maxDelayMs: this.options.maxReconnectDelayMs,
      jitter: 'decorrelated',
      random: this.options.random,
    });
    this.tracer = this.options.tracer ?? trace.getTracer('@tether/ws-client');
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    const creator = trace.getSpanContext(context.active());
    this.creationLinks = creator && trace.isSpanContextValid(creator) ? [{ context: creator }] : [];
    // The client outlives whatever request created it: its sockets, timers and reconnects must not
    // carry that request's context (AsyncLocalStorage would hand it to every later callback).
    context.with(ROOT_CONTEXT, () => void this.connect('initial'));
  }

  /** Listeners run in the root context: never in the (long finished) context of a connect or a creator. */
  override emit<K extends keyof WsClientEvents>(event: K, ...args: WsClientEvents[K]): boolean {
    return context.with(ROOT_CONTEXT, () => super.emit(event, ...(args as never)));
  }

  get state(): WsClientState {
    return this.currentState;
  }

  /** The id of the last event delivered for `jobId` (what a resume asks to continue `after`). */
  lastEventId(jobId: string): string | undefined {
    return this.resume.lastEventId(jobId);
  }

  /** Resolves once the client is closed for good, with the permanent error if that is why. Never rejects. */
  whenClosed(): Promise<TetherError | undefined> {
    return this.closedPromise;
  }

  /**
   * Subscribe to a job's events, starting after `after` (an event id) when given. Kept across
   * reconnects; subscribing to a job already subscribed does nothing.
   */
  subscribe(jobId: string, options: { after?: string } = {}): void {
    if (typeof jobId !== 'string' || jobId.length === 0)
      throw new InvalidOptionError('jobId', 'must be a non-empty string');
    if (options.after !== undefined && (typeof options.after !== 'string' || options.after.length === 0)) {
      throw new InvalidOptionError('after', 'must be a non-empty event id string');
    }
    if (this.currentState === 'closed') throw new WsClientClosedError();
    if (this.resume.has(jobId)) return;
    this.resume.add(jobId, options.after);
    this.send(
      options.after === undefined
        ? { op: 'subscribe', jobId }
        : { op: 'subscribe', jobId, after: options.after },
    );
  }

  unsubscribe(jobId: string): void {
    if (this.currentState === 'closed') throw new WsClientClosedError();
    this.resetting.delete(jobId);
    if (this.resume.remove(jobId)) this.send({ op: 'unsubscribe', jobId });
  }

  /** Ends the connection and every timer; no reconnect afterwards. Resolves when the socket is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    clearTimeout(this.reconnectTimer);
    this.abortToken?.();
    const socket = this.socket;
    this.closing = new Promise((resolve) => {
      this.currentState = 'closed';
      if (!socket) {
        this.finish(undefined);
        return resolve();
      }
      this.stopConnectionTimers();
      // The server's close frame may never come (blackholed path); do not wait ws' 30 s for it.
      const cutOff = setTimeout(() => socket.terminate(), this.options.closeTimeoutMs);
      this.onSocketClosed = () => {
        clearTimeout(cutOff);
        this.finish(undefined);
        resolve();
      };
      if (socket.state === 'connecting') socket.terminate();
      else socket.close(1000, 'client closed');
    });
    return this.closing;
  }

  /**
   * The gateway dropped the subscription: its history cannot cover the cursor. The job leaves the
   * subscriptions at once (a reconnect must not ask again with the stale cursor); `onReset` re-reads
   * the job and says where its state now stands, and the client resubscribes after that.
   */
  private async onResetFrame({ jobId, reason }: { jobId: string; reason: string }): Promise<void> {
    this.resume.remove(jobId);
    const handler = this.options.onReset;
    if (!handler) {
      this.emit('reset', { jobId, reason, resumed: false, resumedAfter: undefined });
      return;
    }
    this.resetting.add(jobId);
    let after: string | undefined;
    let error: unknown;
    try {
      after = (await handler({ jobId, reason })) ?? undefined;
      if (after !== undefined && (typeof after !== 'string' || after.length === 0))
        throw new InvalidOptionError('onReset', 'must return an event id string or undefined');
    } catch (caught) {
      error = caught;
    }
    const resumed = error === undefined && this.resetting.delete(jobId) && this.currentState !== 'closed';
    this.resetting.delete(jobId);
    if (resumed) this.subscribe(jobId, after === undefined ? {} : { after });
    this.emit('reset', {
      jobId,
      reason,
      resumed,
      resumedAfter: resumed ? after : undefined,
      ...(error === undefined ? {} : { error }),
    });
  }

  private finish(error: TetherError | undefined): void {
    this.currentState = 'closed';
    this.closeError = error;
    this.emit('closed', error);
    this.resolveClosed(error);
  }

  private async connect(reason: 'initial' | 'restart' | 'failure'): Promise<void> {
    if (this.closing) return;
    this.currentState = 'connecting';
    // A trace of its own per attempt: a reconnect an hour later is not part of the request that
    // happened to construct the client (its trace would grow for ever, its span end long before).
    const span = this.tracer.startSpan('ws.connect', {
      root: true,
      links: this.creationLinks,
      attributes: {
        'server.address': this.options.url.hostname,
        'url.path': this.options.url.pathname,
        'tether.ws.reconnect_reason': reason,
        'tether.ws.failures': this.failures,
      },
    });
    let token: string;
    try {
      token = await this.getToken();
    } catch (error) {
      if (this.closing) {
        span.end();
        return;
      }
      endSpan(span, error);
      const failure =
        error instanceof WsTokenTimeoutError
          ? error
          : new WsConnectionError('could not get a token', { cause: error });
      this.afterClose(1006, failure, 'failure');
      return;
    }
    if (this.closing) {
      span.end();
      return;
    }
    const url = new URL(this.options.url);
    const headers: Record<string, string> = {};
    if (this.options.tokenIn === 'query') url.searchParams.set('access_token', token);
    else headers.authorization = `Bearer ${token}`;

    let opened = false;
    let ended = false;
    let socket: Connection;
    try {
      // Under the connect span, so an instrumented HTTP upgrade request becomes its child.
      socket = context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
        transport(
          url,
          { headers, handshakeTimeoutMs: this.options.connectTimeoutMs, ws: this.options.ws },
          {
            open: () => {
              opened = true;
              span.end();
              this.onOpen(socket);
            },
            message: (text) => {
              const event = parseEvent(text);
              // Replays that overlap live pushes, and late events for jobs already unsubscribed, end here.
              if (event) {
                if (this.resume.accept(event)) this.emit('event', event);
                return;
              }
              const reset = parseReset(text);
              if (reset && this.resume.has(reset.jobId)) void this.onResetFrame(reset);
            },
            pong: () => this.heartbeat?.pong(),
            close: (code, { httpStatus, error }) => {
              if (ended || socket !== this.socket) return;
              ended = true;
              this.socket = undefined;
              this.stopConnectionTimers();
              if (this.closing) {
                if (!opened) span.end();
                this.onSocketClosed?.();
                return;
              }
              const outcome = this.classify(code, httpStatus, error);
              if (!opened) endSpan(span, outcome.error);
              this.afterClose(code, outcome.error, outcome.reason);
            },
          },
        ),
      );
    } catch (error) {
      // e.g. a token with characters a header cannot carry (Node's message names the header, not the value).
      endSpan(span, error);
      this.afterClose(
        1006,
        new WsConnectionError('could not start the connection', { cause: error }),
        'failure',
      );
      return;
    }
    this.socket = socket;
    this.heartbeatError = undefined;
  }

  private onOpen(socket: Connection): void {
    this.currentState = 'open';
    this.heartbeat = startHeartbeat(socket, {
      pingIntervalMs: this.options.pingIntervalMs,
      pongTimeoutMs: this.options.pongTimeoutMs,
      onTimeout: () => {
        this.heartbeatError = new WsHeartbeatTimeoutError(this.options.pongTimeoutMs);
        socket.terminate();
      },
    });
    // Only a connection that stays up resets the backoff: one that opens and drops at once (a
    // crash-looping gateway) keeps backing off.
    this.stableTimer = setTimeout(() => {
      this.failures = 0;
      this.restartsSinceStable = 0;
      this.backoff.reset();
    }, this.options.stableAfterMs);
    for (const message of this.resume.subscribeMessages()) socket.send(JSON.stringify(message));
    this.emit('open');
  }

  private classify(
    code: number,
    httpStatus: number | undefined,
    socketError: Error | undefined,
  ): { reason: 'restart' | 'failure' | 'fatal'; error: TetherError | undefined } {
    if (httpStatus !== undefined) {
      if (httpStatus === 401 || httpStatus === 403)
        return { reason: 'fatal', error: new WsAuthError(httpStatus) };
      if (httpStatus >= 500 || httpStatus === 408 || httpStatus === 429) {
        return {
          reason: 'failure',
          error: new WsConnectionError(`WebSocket upgrade answered HTTP ${httpStatus}`, { closeCode: code }),
        };
      }
      return { reason: 'fatal', error: new WsRejectedError(httpStatus) };
    }
    if (AUTH_CLOSE_CODES.has(code)) return { reason: 'fatal', error: new WsAuthError(code) };
    if (RESTART_CODES.has(code)) return { reason: 'restart', error: undefined };
    if (this.heartbeatError) return { reason: 'failure', error: this.heartbeatError };
    const detail = socketError ? `: ${socketError.message}` : '';
    return {
      reason: 'failure',
      error: new WsConnectionError(`WebSocket connection lost (code ${code})${detail}`, {
        closeCode: code,
        cause: socketError,
      }),
    };
  }

  private afterClose(
    code: number,
    error: TetherError | undefined,
    reason: 'restart' | 'failure' | 'fatal',
  ): void {
    if (reason === 'fatal') {
      this.closing = Promise.resolve();
      this.finish(error);
      return;
    }
    let delayMs: number;
    if (reason === 'restart' && this.restartsSinceStable < this.options.restartsBeforeBackoff) {
      // The gateway is being replaced, not failing: come back soon, spread over a short window so a
      // whole pod's clients do not land on the survivors in the same millisecond.
      this.restartsSinceStable++;
      delayMs = this.options.random() * this.options.restartReconnectDelayMs;
    } else {
      // Restart closes again and again without a stable connection in between: a crash-looping
      // gateway, or a proxy that closes at once. Every client reconnecting within a second would
      // keep it down, so this is a failure like any other: the normal jittered backoff.
      this.failures++;
      delayMs = this.backoff.next();
    }
    this.currentState = 'waiting';
    this.emit('disconnected', { reason, code, error, failures: this.failures, delayMs });
    if (this.closing) return; // a listener called close()
    this.reconnectTimer = setTimeout(() => void this.connect(reason), delayMs);
  }

  private stopConnectionTimers(): void {
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
  }

  /** The token, from the string or the function (bounded by tokenTimeoutMs; its signal aborts then). */
  private async getToken(): Promise<string> {
    const source = this.options.token;
    if (typeof source === 'string') return source;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = new Promise<never>((_resolve, reject) => {
      const abort = (error: Error): void => {
        clearTimeout(timer);
        controller.abort(error);
        reject(error);
      };
      timer = setTimeout(
        () => abort(new WsTokenTimeoutError(this.options.tokenTimeoutMs)),
        this.options.tokenTimeoutMs,
      );
      // close() must not wait for (or keep a timer alive for) a token nobody will use.
      this.abortToken = () => abort(new WsClientClosedError());
    });
    try {
      const token = await Promise.race([Promise.resolve().then(() => source(controller.signal)), stop]);
      if (typeof token !== 'string' || token.length === 0)
        throw new TypeError('the token function returned no token');
      return token;
    } finally {
      clearTimeout(timer);
      this.abortToken = undefined;
    }
  }

  private send(message: object): void {
    // While disconnected the subscription waits in ResumeState and is sent on the next open.
    if (this.socket?.state === 'open') this.socket.send(JSON.stringify(message));
  }

  /** The permanent error that closed the client, if any. */
  get error(): TetherError | undefined {
    return this.closeError;
  }
}

function endSpan(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}
