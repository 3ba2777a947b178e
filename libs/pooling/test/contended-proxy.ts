import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Postgres that models a server short of CPU: every new connection's
 * start-up (fork, authentication) needs `startupWorkMs` of a single CPU, shared equally by the
 * start-ups in progress (processor sharing). One start-up alone takes `startupWorkMs`; ten at once
 * take ten times as long each. The client's bytes are held until its start-up's work is done; a
 * client that gives up meanwhile frees its share. Established connections pass through untouched.
 */
export class ContendedProxy {
  /** Most start-ups in progress at once so far. */
  peakStartups = 0;
  private readonly server: Server;
  private readonly starting = new Map<Socket, { remainingMs: number; release: () => void }>();
  private readonly sockets = new Set<Socket>();
  private timer: NodeJS.Timeout | undefined;
  private readonly target: { host: string; port: number };
  private readonly startupWorkMs: number;

  private constructor(target: { host: string; port: number }, startupWorkMs: number) {
    this.target = target;
    this.startupWorkMs = startupWorkMs;
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }, startupWorkMs: number): Promise<ContendedProxy> {
    const proxy = new ContendedProxy(target, startupWorkMs);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Start-ups in progress now. */
  get startups(): number {
    return this.starting.size;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        this.starting.delete(client);
        client.destroy();
        upstream.destroy();
      });
    }
    const held: Buffer[] = [];
    const hold = (chunk: Buffer) => held.push(chunk);
    client.on('data', hold);
    upstream.pipe(client);
    this.starting.set(client, {
      remainingMs: this.startupWorkMs,
      release: () => {
        client.off('data', hold);
        for (const chunk of held) upstream.write(chunk);
        client.pipe(upstream);
      },
    });
    this.peakStartups = Math.max(this.peakStartups, this.starting.size);
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const share = TICK_MS / Math.max(this.starting.size, 1);
    for (const [client, startup] of this.starting) {
      startup.remainingMs -= share;
      if (startup.remainingMs <= 0) {
        this.starting.delete(client);
        startup.release();
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const TICK_MS = 10;
