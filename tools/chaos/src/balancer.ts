/**
 * A layer-4 round-robin balancer in front of an app's replicas, as a Kubernetes Service
 * (kube-proxy) is: a new connection goes to a replica whose `/readyz` answered 200 at the last
 * poll; established connections stay where they are. Polling readiness (not watching the process)
 * is the point: a replica that is shutting down turns unready and stops getting new connections only
 * after a poll, the same race the kubelet and endpoint controller run.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  port: number;
  adminPort: number;
}

interface Entry extends Backend {
  ready: boolean;
}

export class Balancer {
  private readonly server: Server;
  private readonly entries: Entry[] = [];
  private readonly sockets = new Set<Socket>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly readinessPollMs: number;

  private constructor(server: Server, readinessPollMs: number) {
    this.server = server;
    this.readinessPollMs = readinessPollMs;
  }

  /** Listens on a free loopback port; polls each backend's `/readyz` every `readinessPollMs`. */
  static async start(readinessPollMs = 250): Promise<Balancer> {
    const server = createServer();
    const balancer = new Balancer(server, readinessPollMs);
    server.on('connection', (socket) => balancer.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    balancer.timer = setInterval(() => void balancer.poll(), readinessPollMs);
    return balancer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Adds a replica; it gets connections once its `/readyz` answers 200. */
  add(backend: Backend): void {
    this.entries.push({ ...backend, ready: false });
  }

  remove(backend: Backend): void {
    const index = this.entries.findIndex((e) => e.port === backend.port);
    if (index >= 0) this.entries.splice(index, 1);
  }

  /** Resolves once at least one replica is ready. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.entries.some((e) => e.ready)) {
      if (Date.now() > deadline) throw new Error(`no ready backend within ${timeoutMs} ms`);
      await this.poll();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.entries.map(async (entry) => {
        try {
          const response = await fetch(`http://127.0.0.1:${entry.adminPort}/readyz`, {
            signal: AbortSignal.timeout(this.readinessPollMs * 4),
          });
          await response.arrayBuffer();
          entry.ready = response.status === 200;
        } catch {
          entry.ready = false;
        }
      }),
    );
  }

  private accept(client: Socket): void {
    const ready = this.entries.filter((e) => e.ready);
    if (ready.length === 0) {
      client.resetAndDestroy(); // no endpoints: what a Service without ready pods answers
      return;
    }
    const target = ready[this.next++ % ready.length] as Entry;
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
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
