import net from 'node:net';
import type { TetherClient } from './pg-client.ts';

/** Probes in flight at once, at most (a probe lives 2 x afterMs, one starts every afterMs). */
const MAX_PROBES = 2;
/** A probe's SYN is never retransmitted: the kernel's first retransmission comes 1 s after it. */
const MAX_PROBE_LIFETIME_MS = 900;

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
 * TCP connect (closed as soon as it is made, nothing sent) goes to the same host and port every
 * `afterMs`, at most MAX_PROBES at a time, each given up after 2 x `afterMs` (under 1 s, before its
 * own SYN would be retransmitted). When one completes in `t` ms, the path works: every connect still
 * in the handshake after waiting longer than 2 x `t` is abandoned with StalledConnectError (errno
 * ECONNABORTED in `connect`: nothing was sent) and the pool asks pg-pool for a connection again at
 * once. Connects past the handshake (TLS, authentication) are never touched: a slow server is not a
 * lost SYN.
 *
 * Costs and limits: a probe that gets through costs the server an accepted connection (Postgres
 * forks a backend for it, which exits on the empty startup; PgBouncer logs the disconnect), once per
 * healed outage, not per stalled connect. A host name is resolved by the probe and by each connect on
 * its own: with several addresses (round-robin DNS) the probe may reach another address than a
 * stalled connect tried.
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
    if (this.probes.size >= MAX_PROBES) return;
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
    socket.unref();
    this.probes.add(socket);
    const end = () => {
      clearTimeout(timer);
      this.probes.delete(socket);
      socket.destroy();
    };
    const timer = setTimeout(end, Math.min(2 * this.opts.afterMs, MAX_PROBE_LIFETIME_MS)).unref();
    socket.once('error', end);
    socket.once('connect', () => {
      end();
      if (!this.closed) this.redial(performance.now() - startedAt);
    });
  }

  /**
   * Abandons the connects still in the TCP handshake that have waited longer than twice what the
   * probe took (`probeMs`): a SYN that reached the server would have been answered by now.
   */
  private redial(probeMs: number): void {
    const now = performance.now();
    let count = 0;
    for (const [client, startedAt] of this.pending) {
      if (now - startedAt <= 2 * probeMs || !inHandshake(client)) continue;
      this.pending.delete(client);
      socketOf(client)?.destroy(new StalledConnectError(now - startedAt));
      count++;
    }
    if (count > 0) this.opts.redialled(count);
  }
}

/** The client's socket (pg's Connection#stream; after a TLS upgrade the TLSSocket, never `connecting`). */
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
