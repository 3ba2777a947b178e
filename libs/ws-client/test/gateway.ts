import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { compareEventIds, type JobEvent } from '../src/resume.ts';

/**
 * The job events, kept outside any gateway instance (in production: Postgres/Redis) so a restarted
 * gateway on the same port replays what was published while clients were away.
 */
export class EventLog extends EventEmitter<{ append: [JobEvent] }> {
  private seq = 0;
  readonly byJob = new Map<string, JobEvent[]>();

  append(jobId: string, type = 'progress', data: unknown = {}): JobEvent {
    // One sequence across jobs: ids are ordered per job (not contiguous) and cross 9 -> 10 early.
    const event: JobEvent = { id: String(++this.seq), jobId, type, data, ts: new Date().toISOString() };
    const events = this.byJob.get(jobId) ?? [];
    events.push(event);
    this.byJob.set(jobId, events);
    this.emit('append', event);
    return event;
  }

  ids(jobId: string): string[] {
    return (this.byJob.get(jobId) ?? []).map((e) => e.id);
  }
}

export interface GatewayOptions {
  token: string;
  log: EventLog;
  port?: number;
  /** Replay from `after` inclusive, re-sending the event the client already has (a sloppy gateway). */
  replayInclusive?: boolean;
}

/**
 * A small implementation of the gateway's protocol (ARCHITECTURE.md, "WebSocket gateway") on the
 * real `ws` package, with the faults the client must survive: close with 1012, terminate (1006),
 * stop answering pings, accept-then-drop.
 */
export class TestGateway {
  readonly options: GatewayOptions;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly subscriptions = new Map<WebSocket, Set<string>>();
  private listenPort: number;
  /** Timestamps (performance.now) of accepted upgrades. */
  readonly accepted: number[] = [];
  rejected = 0;
  answerPings = true;
  /** Answer upgrades with this HTTP status instead (503 from an overloaded gateway or its proxy). */
  upgradeStatus: number | undefined;
  /** Accept the upgrade, then terminate at once (a crash-looping backend). */
  dropNewConnections = false;
  /** Accept the upgrade, then close at once with this code (1012: a gateway in a restart loop, or a proxy). */
  closeNewConnectionsWith: number | undefined;
  private readonly onAppend = (event: JobEvent) => {
    for (const [socket, jobs] of this.subscriptions)
      if (jobs.has(event.jobId)) socket.send(JSON.stringify(event));
  };

  private constructor(options: GatewayOptions) {
    this.options = options;
    this.listenPort = options.port ?? 0;
  }

  static async start(options: GatewayOptions): Promise<TestGateway> {
    const gateway = new TestGateway(options);
    await gateway.listen();
    return gateway;
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.listenPort}/v1/stream`;
  }

  get clientCount(): number {
    return this.subscriptions.size;
  }

  async listen(): Promise<void> {
    const wss = new WebSocketServer({ noServer: true, autoPong: false });
    const server = createServer((_req, res) => res.writeHead(426).end());
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    wss.on('connection', (ws) => this.connection(ws));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
    this.options.log.on('append', this.onAppend);
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== '/v1/stream') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.upgradeStatus !== undefined) {
      socket.end(
        `HTTP/1.1 ${this.upgradeStatus} Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
    if (token !== this.options.token) {
      this.rejected++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss?.handleUpgrade(req, socket, head, (ws) => this.wss?.emit('connection', ws, req));
  }

  private connection(ws: WebSocket): void {
    this.accepted.push(performance.now());
    if (this.dropNewConnections) {
      ws.terminate();
      return;
    }
    if (this.closeNewConnectionsWith !== undefined) {
      ws.close(this.closeNewConnectionsWith, 'service restart');
      return;
    }
    const jobs = new Set<string>();
    this.subscriptions.set(ws, jobs);
    ws.on('ping', (data) => {
      if (this.answerPings) ws.pong(data);
    });
    ws.on('close', () => this.subscriptions.delete(ws));
    ws.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { op: string; jobId: string; after?: string };
      if (message.op === 'unsubscribe') {
        jobs.delete(message.jobId);
        return;
      }
      if (message.op !== 'subscribe') return;
      // Replay and registration in one synchronous step, so no append can fall between them.
      for (const event of this.options.log.byJob.get(message.jobId) ?? []) {
        const order = message.after === undefined ? 1 : compareEventIds(event.id, message.after);
        if (order > 0 || (order === 0 && this.options.replayInclusive)) ws.send(JSON.stringify(event));
      }
      jobs.add(message.jobId);
    });
  }

  /** Close every client with `code` (1012 service restart, 1001 going away, 4401…). */
  closeAll(code: number, reason = ''): void {
    for (const ws of this.subscriptions.keys()) ws.close(code, reason);
  }

  /** Destroy every client socket without a close frame: the client sees 1006. */
  terminateAll(): void {
    for (const ws of this.subscriptions.keys()) ws.terminate();
  }

  /** Stop listening; with `code` clients get that close frame first, otherwise their sockets are destroyed. */
  async stop(code?: number): Promise<void> {
    this.options.log.off('append', this.onAppend);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    if (code === undefined) this.terminateAll();
    else this.closeAll(code);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Stragglers that never answer the close frame (none expected in these tests) are cut here.
    setTimeout(() => this.terminateAll(), 200).unref();
    await closed;
    this.wss?.close();
  }
}
