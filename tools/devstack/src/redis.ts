import { Redis } from 'ioredis';
import { findRedis } from './binaries.ts';
import { removeTempDir, tempDir } from './cleanup.ts';
import { onFreePort, startError, waitForPort, type FreePortRetry } from './ports.ts';
import { ServerProcess } from './server-process.ts';

export interface RedisOptions {
  /** Port on 127.0.0.1; default: a free one, picked again when it is taken before Redis binds it. */
  port?: number;
  /** How a free port is picked when `port` is unset (default `freePort`), and how often. */
  freePort?: FreePortRetry;
  /** Extra `--name value` server arguments (e.g. `{ timeout: 1 }`). */
  settings?: Record<string, string | number>;
  startTimeoutMs?: number;
}

/** An ephemeral Redis on 127.0.0.1 with nothing persisted, for tests and `npm start`. */
export class EphemeralRedis {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  private readonly options: RedisOptions;
  private readonly process: ServerProcess;

  private constructor(port: number, dir: string, options: RedisOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
    const settings: Record<string, string | number> = {
      port,
      bind: this.host,
      save: '',
      appendonly: 'no',
      dir,
      daemonize: 'no',
      'protected-mode': 'no',
      loglevel: 'warning',
      ...options.settings,
    };
    this.process = new ServerProcess('redis', {
      command: findRedis(),
      args: Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]),
    });
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  static async start(options: RedisOptions = {}): Promise<EphemeralRedis> {
    findRedis();
    if (options.port !== undefined) return EphemeralRedis.startOn(options.port, options);
    return onFreePort((port) => EphemeralRedis.startOn(port, options), options.freePort);
  }

  private static async startOn(port: number, options: RedisOptions): Promise<EphemeralRedis> {
    const server = new EphemeralRedis(port, tempDir('redis'), options);
    try {
      await server.start();
    } catch (error) {
      removeTempDir(server.dir);
      throw error;
    }
    return server;
  }

  async start(): Promise<void> {
    if (this.process.running) return;
    this.process.start();
    const timeoutMs = this.options.startTimeoutMs ?? 15_000;
    try {
      await Promise.race([
        this.waitReady(timeoutMs),
        this.process.exited().then(() => {
          throw new Error('the server exited during start-up');
        }),
      ]);
    } catch (error) {
      await this.process.kill();
      throw startError('redis', error, this.process.recentOutput());
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    await waitForPort(this.host, this.port, timeoutMs);
    // The port may answer for another process that took it first: make sure the server is ours.
    const info = String(await this.call(['INFO', 'server'], 5_000));
    if (!info.includes(`process_id:${this.process.pid}\r`)) {
      throw new Error(`another server answers on ${this.host}:${this.port} (address already in use)`);
    }
  }

  /** Run one command on a short-lived admin connection (no retries, no offline queue). */
  async command(...args: (string | number)[]): Promise<unknown> {
    return this.call(args);
  }

  private async call(args: (string | number)[], commandTimeoutMs?: number): Promise<unknown> {
    const client = new Redis({
      host: this.host,
      port: this.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      ...(commandTimeoutMs === undefined ? {} : { commandTimeout: commandTimeoutMs }),
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const [name, ...rest] = args;
      return await client.call(String(name), ...rest.map(String));
    } finally {
      client.disconnect();
    }
  }

  async configSet(name: string, value: string | number): Promise<void> {
    await this.command('CONFIG', 'SET', name, value);
  }

  /** `CLIENT KILL` every client connection except the admin one issuing it. Returns how many. */
  async killClients(): Promise<number> {
    return (
      Number(await this.command('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')) +
      Number(await this.command('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes'))
    );
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  async kill(): Promise<void> {
    await this.process.kill();
  }

  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  async close(): Promise<void> {
    await this.process.stop('SIGKILL');
    removeTempDir(this.dir);
  }
}
