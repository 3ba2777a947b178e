import net from 'node:net';
import type { TetherClient } from './pg-client.ts';

/** A probe's SYN is never retransmitted: the kernel's first retransmission comes 1 s after it. */
const PROBE_LIFETIME_MS = 900;

/** A connect given up because a newer one to the same address got through: nothing was sent. */
export class StalledConnectError extends Error {
  readonly code = 'ECONNABORTED';
  readonly syscall = 'connect';

  constructor(stalledMs: number) {
    super(
      `connect abandoned after ${Math.round(stalledMs)} ms in the TCP handshake: ` +
        'a new connection to the same address got through meanwhile (the SYN was lost; re-dialling)',
    );
    this.name = 'StalledConnectError';
  }
}

export interface StalledConnectsOptions {
  host: string;
  port: number;
  /** A connect still in the TCP handshake after this long is stalled, ms. */
  afterMs: number;
  /** After connects were abandoned (their callers retry: nothing was sent). */
  redialled(count: number): void;
}

/**
 * Re-dials connects whose SYN was lost, as soon as the path to the server works again.
 *
 * A connect whose SYN was dropped (a blackholed path, a NAT or firewall that lost its state, a full
 * listen backlog) waits for the kernel's next retransmission: 1 s later, then 1 s or more apart
 * (`tcp_syn_linear_timeouts`, then doubling), until connectTimeoutMs. The pool opens at most
 * `maxConnecting` at a time, and those that wait were opened together, so they retransmit together:
 * when the path heals, every caller waits up to a second (later in an outage: several) for the next
 * round although a connect sent now would complete in one round trip.
 *
 * So while one of the pool's connects has been in the TCP handshake longer than `afterMs`, a bare
 * TCP connect (nothing sent; a server ignores a connection that sends nothing) goes to the same
 * address every `afterMs`, each given up before its own SYN would be retransmitted. When one
 * completes, the path works: every connect that began before that probe and is still in the
 * handshake is abandoned with StalledConnectError (errno ECONNABORTED in `connect`: nothing was sent,
 * so any call may retry it) and the pool opens new ones at once. Connects past the handshake (TLS,
 * authentication) are never touched: a slow server is not a lost SYN.
 */
export class StalledConnects {
  private readonly opts: StalledConnectsOptions;
  /** Connects under way, with the time each started. */
  private readonly pending = new Map<TetherClient, number>();
  private readonly probes = new Set<net.Socket>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: StalledConnectsOptions) {
    this.opts = options;
  }

  /** `client` started connecting. */
  started(client: TetherClient): void {
    if (this.closed) return;
    this.pending.set(client, performance.now());
    this.timer ??= setInterval(() => this.tick(), this.opts.afterMs).unref();
  }

  /** `client`'s connect ended, made or failed. */
  ended(client: TetherClient): void {
    this.pending.delete(client);
    if (this.pending.size === 0) this.stopTimer();
  }

  /** Stops probing for good (the pool is draining). */
  close(): void {
    this.closed = true;
    this.pending.clear();
    this.stopTimer();
    for (const probe of this.probes) probe.destroy();
    this.probes.clear();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const stalledSince = performance.now() - this.opts.afterMs;
    for (const [client, startedAt] of this.pending) {
      if (startedAt <= stalledSince && inHandshake(client)) {
        this.probe();
        return;
      }
    }
  }

  private probe(): void {
    const startedAt = performance.now();
    const socket = net.connect({ host: this.opts.host, port: this.opts.port });
    this.probes.add(socket);
    const end = () => {
      clearTimeout(timer);
      this.probes.delete(socket);
      socket.destroy();
    };
    const timer = setTimeout(end, PROBE_LIFETIME_MS).unref();
    socket.once('error', end);
    socket.once('connect', () => {
      end();
      if (!this.closed) this.redial(startedAt);
    });
  }

  /** Abandons the connects that began before `before` and are still in the TCP handshake. */
  private redial(before: number): void {
    const now = performance.now();
    let count = 0;
    for (const [client, startedAt] of this.pending) {
      if (startedAt >= before || !inHandshake(client)) continue;
      this.pending.delete(client);
      socketOf(client)?.destroy(new StalledConnectError(now - startedAt));
      count++;
    }
    if (count > 0) this.opts.redialled(count);
  }
}

/** The client's socket (pg's Connection#stream): a net.Socket until TLS replaces it. */
function socketOf(client: TetherClient): net.Socket | undefined {
  const stream = (client as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  return stream instanceof net.Socket ? stream : undefined;
}

/** Still waiting for the server's SYN-ACK (or for DNS). */
function inHandshake(client: TetherClient): boolean {
  return socketOf(client)?.connecting === true;
}

/** Whether probing applies: a TCP host (not a Unix socket directory). */
export function probeableHost(host: string): boolean {
  return !host.startsWith('/');
}
