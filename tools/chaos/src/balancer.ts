/**
 * A layer-4 round-robin balancer in front of an app's replicas, as a Kubernetes Service
 * (kube-proxy) is: a new connection goes to a replica whose `/readyz` answered 200 at the last
 * poll, and a ready replica is taken out after `failureThreshold` failed polls in a row (the
 * charts' readiness probe: 2); established connections stay where they are. Polling readiness (not watching the process)
 * is the point: a replica that is shutting down turns unready and stops getting new connections only
 * after a poll, the same race the kubelet and endpoint controller run.
 *
 * Pod deletion is modelled separately (`terminating`): Kubernetes removes a terminating pod from the
 * Service's endpoints at the same time as it runs the pod's preStop hook and then sends SIGTERM, and
 * kube-proxy applies that removal only after a propagation delay (API server -> endpoint controller
 * -> EndpointSlice -> every node's kube-proxy; about a second or more). Until then new connections
 * still go to the terminating pod, whether or not it is listening any more.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  port: number;
  adminPort: number;
}

interface Entry extends Backend {
  ready: boolean;
  /** Failed polls in a row (readiness is lost at `failureThreshold`). */
  failures: number;
  /** A poll is under way: the next waits for it, as a kubelet's probes do not overlap. */
  polling?: boolean;
  /** Set by `terminating()`: new connections still come until this moment (ms since the epoch). */
  routedUntilMs?: number;
}

export interface BalancerOptions {
  /** Readiness poll period, ms. Default 250. */
  readinessPollMs?: number;
  /**
   * Failed polls in a row (no answer within 4 periods, or not 200) before a ready replica is taken
   * out. Default 2, the charts' `probes.readiness.failureThreshold`: one slow answer from a replica
   * on a busy node does not take it out, as it does not in Kubernetes.
   */
  failureThreshold?: number;
  /**
   * How long after `terminating(backend)` new connections still go to it, ms: the endpoint removal's
   * propagation to kube-proxy. Default 1000 (the low end of what clusters show; more under load).
   */
  propagationMs?: number;
}

export class Balancer {
  private readonly server: Server;
  private readonly entries: Entry[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly readinessPollMs: number;
  private readonly failureThreshold: number;
  readonly propagationMs: number;
  /** Connections reset because no replica was routable (a Service without endpoints). */
  noEndpointResets = 0;

  private constructor(server: Server, options: Required<BalancerOptions>) {
    this.server = server;
    this.readinessPollMs = options.readinessPollMs;
    this.failureThreshold = options.failureThreshold;
    this.propagationMs = options.propagationMs;
  }

  /** Listens on a free loopback port; polls each backend's `/readyz` every `readinessPollMs`. */
  static async start(options: BalancerOptions = {}): Promise<Balancer> {
    const server = createServer();
    const balancer = new Balancer(server, {
      readinessPollMs: options.readinessPollMs ?? 250,
      failureThreshold: options.failureThreshold ?? 2,
      propagationMs: options.propagationMs ?? 1_000,
    });
    server.on('connection', (socket) => balancer.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    balancer.timer = setInterval(() => void balancer.poll(), balancer.readinessPollMs);
    return balancer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Adds a replica; it gets connections once its `/readyz` answers 200. */
  add(backend: Backend): void {
    this.entries.push({ ...backend, ready: false, failures: 0 });
  }

  /**
   * Takes a replica out now. A terminating one is left to `terminating()`'s timer: its process
   * exiting does not make kube-proxy forget it any sooner.
   */
  remove(backend: Backend): void {
    const index = this.entries.findIndex((e) => e.port === backend.port);
    if (index >= 0 && this.entries[index]?.routedUntilMs === undefined) this.entries.splice(index, 1);
  }

  /**
   * The pod is being deleted: new connections keep going to it for `propagationMs`, whatever its
   * readiness says (a failed probe would itself take at least that long to propagate), then it is out.
   * Established connections are left alone, as kube-proxy leaves them.
   */
  terminating(backend: Backend): void {
    const entry = this.entries.find((e) => e.port === backend.port);
    if (!entry || entry.routedUntilMs !== undefined) return;
    entry.routedUntilMs = Date.now() + this.propagationMs;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const index = this.entries.indexOf(entry);
      if (index >= 0) this.entries.splice(index, 1);
    }, this.propagationMs);
    this.timers.add(timer);
  }

  /** Resolves once at least one replica is ready (or, with `backend`, that one). */
  async waitReady(timeoutMs = 60_000, backend?: Backend): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const isReady = (e: Entry) => e.ready && (!backend || e.port === backend.port);
    while (!this.entries.some(isReady)) {
      if (Date.now() > deadline) throw new Error(`no ready backend within ${timeoutMs} ms`);
      await this.poll();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.entries
        .filter((entry) => entry.routedUntilMs === undefined && !entry.polling)
        .map(async (entry) => {
          entry.polling = true;
          let ok = false;
          try {
            const response = await fetch(`http://127.0.0.1:${entry.adminPort}/readyz`, {
              signal: AbortSignal.timeout(this.readinessPollMs * 4),
            });
            await response.arrayBuffer();
            ok = response.status === 200;
          } catch {
            // no answer within 4 periods, or refused: a failed poll
          }
          entry.polling = false;
          entry.failures = ok ? 0 : entry.failures + 1;
          if (ok) entry.ready = true;
          else if (entry.failures >= this.failureThreshold) entry.ready = false;
        }),
    );
  }

  private routable(entry: Entry, now: number): boolean {
    return entry.routedUntilMs === undefined ? entry.ready : now < entry.routedUntilMs;
  }

  private accept(client: Socket): void {
    const now = Date.now();
    const ready = this.entries.filter((e) => this.routable(e, now));
    if (ready.length === 0) {
      this.noEndpointResets++;
      client.resetAndDestroy(); // no endpoints: what a Service without ready pods answers
      return;
    }
    const target = ready[this.next++ % ready.length] as Entry;
    // A replica that is gone refuses the connection; having accepted the client already, the
    // balancer can only pass that on as a reset (kube-proxy's DNAT would show the refusal itself).
    const upstream = connect({ host: '127.0.0.1', port: target.port });
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (from: Socket, to: Socket) => {
      from.on('error', () => to.resetAndDestroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    };
    close(client, upstream);
    close(upstream, client);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
