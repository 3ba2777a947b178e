import { EventEmitter, once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { RolloutSimError, integerOption, invalidOption } from './errors.ts';
import { HttpProber, type ProbeSettings } from './prober.ts';

export interface LoadBalancerOptions {
  /** Address to listen on. Default '127.0.0.1'. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Readiness probe period (k8s periodSeconds). Default 1000 ms. */
  probePeriodMs?: number;
  /** Readiness probe timeout (k8s timeoutSeconds). Default 1000 ms. */
  probeTimeoutMs?: number;
  /** Consecutive failed probes before an endpoint is not ready (k8s failureThreshold). Default 1. */
  failureThreshold?: number;
  /** Consecutive successful probes before an endpoint is ready (k8s successThreshold). Default 1. */
  successThreshold?: number;
  /**
   * Time from an endpoint change (ready, not ready, terminating) until kube-proxy on this "node" routes
   * by it: EndpointSlice controller + API watch + iptables sync. Default 1000 ms.
   */
  propagationDelayMs?: number;
  /** Random source in [0, 1) for the probes' start offsets. Default Math.random. */
  random?: () => number;
}

export interface EndpointSpec {
  /** Pod name. Unique. */
  id: string;
  host: string;
  /** Port traffic is forwarded to (the container port behind the Service). */
  port: number;
  /**
   * Full URL of the readiness probe, e.g. http://127.0.0.1:9090/readyz, probed with the Service's
   * probe settings. Without it the endpoint's readiness is whatever `setReady` last said (a kubelet
   * emulation that runs the pod's own probes).
   */
  readinessUrl?: string;
}

export interface EndpointStatus {
  id: string;
  host: string;
  port: number;
  /** What the readiness probe says now. */
  ready: boolean;
  /** The pod is being deleted (EndpointSlice `terminating`). */
  terminating: boolean;
  /** What kube-proxy routes by: ready && !terminating, as of propagationDelayMs ago. */
  routable: boolean;
  /** Connections forwarded to this endpoint and still open. */
  openConnections: number;
  /** Connections forwarded to this endpoint in total. */
  totalConnections: number;
}

export interface LoadBalancerStats {
  /** Client connections accepted. */
  accepted: number;
  /** Connections reset because no endpoint was routable (k8s: REJECT -> connection refused). */
  noEndpoint: number;
  /** Connections reset because the chosen endpoint refused or reset (the pod was gone). */
  upstreamErrors: number;
}

interface Endpoint extends EndpointStatus {
  prober: HttpProber | undefined;
  sockets: Set<Socket>;
}

/**
 * A local Kubernetes Service: endpoints probed for readiness, routing changes applied only after a
 * propagation delay, and L4 forwarding like kube-proxy in iptables/IPVS mode. Forwarding is per TCP
 * connection, not per request, on purpose: a keep-alive connection stays pinned to its pod after the
 * pod leaves the endpoints (conntrack keeps it), which is exactly why servers must answer
 * `Connection: close` while draining. WebSocket upgrades and HTTP/2 pass through unchanged. A failed
 * upstream connection resets the client connection; there is no retry, as with kube-proxy.
 */
export class LoadBalancer extends EventEmitter {
  readonly stats: LoadBalancerStats = { accepted: 0, noEndpoint: 0, upstreamErrors: 0 };
  readonly #server: Server;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #probe: ProbeSettings;
  readonly #propagationDelayMs: number;
  readonly #random: () => number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #clients = new Set<Socket>();
  #next = 0;

  private constructor(options: LoadBalancerOptions) {
    super();
    this.#probe = {
      periodMs: integerOption('probePeriodMs', options.probePeriodMs, 1000, 1),
      timeoutMs: integerOption('probeTimeoutMs', options.probeTimeoutMs, 1000, 1),
      failureThreshold: integerOption('failureThreshold', options.failureThreshold, 1, 1),
      successThreshold: integerOption('successThreshold', options.successThreshold, 1, 1),
    };
    this.#propagationDelayMs = integerOption('propagationDelayMs', options.propagationDelayMs, 1000);
    this.#random = options.random ?? Math.random;
    this.#server = createServer({ allowHalfOpen: true }, (client) => this.#forward(client));
  }

  static async start(options: LoadBalancerOptions = {}): Promise<LoadBalancer> {
    const lb = new LoadBalancer(options);
    const port = integerOption('port', options.port, 0);
    lb.#server.listen(port, options.host ?? '127.0.0.1');
    await once(lb.#server, 'listening');
    return lb;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get host(): string {
    return (this.#server.address() as AddressInfo).address;
  }

  /** http://host:port of the Service. */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** A new pod: probed from now on, routable once ready + propagation. */
  addEndpoint(spec: EndpointSpec): void {
    if (this.#endpoints.has(spec.id)) throw invalidOption('endpoint id', `${spec.id} is already registered`);
    if (spec.readinessUrl !== undefined && !spec.readinessUrl)
      throw invalidOption(`endpoint ${spec.id} readinessUrl`, 'must be a URL when given');
    const endpoint: Endpoint = {
      id: spec.id,
      host: spec.host,
      port: spec.port,
      ready: false,
      terminating: false,
      routable: false,
      openConnections: 0,
      totalConnections: 0,
      sockets: new Set(),
      prober:
        spec.readinessUrl === undefined
          ? undefined
          : new HttpProber(
              spec.readinessUrl,
              this.#probe,
              (ready) => this.#onReadiness(spec.id, ready),
              this.#random,
            ),
    };
    this.#endpoints.set(spec.id, endpoint);
  }

  /** The pod's readiness as its kubelet sees it, for endpoints added without a `readinessUrl`. */
  setReady(id: string, ready: boolean): void {
    const endpoint = this.#get(id);
    if (endpoint.prober)
      throw invalidOption(`endpoint ${id}`, 'is probed by the Service; setReady is for the others');
    if (endpoint.ready !== ready) this.#onReadiness(id, ready);
  }

  /** The pod is being deleted: it leaves the routing table after the propagation delay. */
  markTerminating(id: string): void {
    const endpoint = this.#get(id);
    endpoint.terminating = true;
    this.emit('change', this.endpoint(id));
    this.#propagate(endpoint);
  }

  /** The pod is gone: stop probing and forget it. Open connections are left to die with the pod. */
  removeEndpoint(id: string): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    endpoint.prober?.stop();
    this.#endpoints.delete(id);
    this.emit('change', { ...this.#status(endpoint), routable: false });
  }

  endpoint(id: string): EndpointStatus {
    return this.#status(this.#get(id));
  }

  endpoints(): EndpointStatus[] {
    return [...this.#endpoints.values()].map((e) => this.#status(e));
  }

  /** Resolves once the endpoint receives traffic (probe passed and propagated). */
  async waitUntilRoutable(id: string, timeoutMs: number): Promise<void> {
    const deadline = AbortSignal.timeout(timeoutMs);
    while (!this.#endpoints.get(id)?.routable) {
      if (!this.#endpoints.has(id))
        throw new RolloutSimError(
          'TETHER_ROLLOUT_ENDPOINT_GONE',
          `endpoint ${id} was removed before it became routable`,
        );
      try {
        await once(this, 'change', { signal: deadline });
      } catch {
        throw new RolloutSimError(
          'TETHER_ROLLOUT_NOT_READY',
          `endpoint ${id} did not become routable within ${timeoutMs} ms`,
        );
      }
    }
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const endpoint of this.#endpoints.values()) {
      endpoint.prober?.stop();
      for (const socket of endpoint.sockets) socket.destroy();
    }
    this.#endpoints.clear();
    for (const client of this.#clients) client.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #get(id: string): Endpoint {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) throw invalidOption('endpoint id', `${id} is not registered`);
    return endpoint;
  }

  #status(e: Endpoint): EndpointStatus {
    return {
      id: e.id,
      host: e.host,
      port: e.port,
      ready: e.ready,
      terminating: e.terminating,
      routable: e.routable,
      openConnections: e.openConnections,
      totalConnections: e.totalConnections,
    };
  }

  #onReadiness(id: string, ready: boolean): void {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    endpoint.ready = ready;
    this.emit('change', this.#status(endpoint));
    this.#propagate(endpoint);
  }

  /** Applies the state as of now, later: changes reach kube-proxy in order, each after the same delay. */
  #propagate(endpoint: Endpoint): void {
    const routable = endpoint.ready && !endpoint.terminating;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#endpoints.get(endpoint.id) !== endpoint) return;
      endpoint.routable = routable;
      this.emit('change', this.#status(endpoint));
    }, this.#propagationDelayMs);
    this.#timers.add(timer);
  }

  #pick(): Endpoint | undefined {
    const routable = [...this.#endpoints.values()].filter((e) => e.routable);
    if (routable.length === 0) return undefined;
    this.#next = (this.#next + 1) % routable.length;
    return routable[this.#next];
  }

  #forward(client: Socket): void {
    this.stats.accepted += 1;
    this.#clients.add(client);
    client.once('close', () => this.#clients.delete(client));
    const endpoint = this.#pick();
    if (!endpoint) {
      this.stats.noEndpoint += 1;
      client.resetAndDestroy();
      return;
    }
    endpoint.openConnections += 1;
    endpoint.totalConnections += 1;
    const upstream = connect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true });
    endpoint.sockets.add(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // Mirror resets both ways, as a NATed TCP connection would: the peer sees ECONNRESET, not a clean FIN.
    upstream.once('error', () => {
      this.stats.upstreamErrors += 1;
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.once('error', () => {
      if (!upstream.destroyed) upstream.resetAndDestroy();
    });
    // Clean closes propagate as FINs through pipe(); destroying here could drop bytes still buffered.
    upstream.once('close', () => {
      endpoint.sockets.delete(upstream);
      endpoint.openConnections -= 1;
    });
  }
}
