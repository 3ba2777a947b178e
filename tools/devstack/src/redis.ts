import { Redis } from 'ioredis';
import { findRedis } from './binaries.ts';
import { removeTempDir, tempDir } from './cleanup.ts';
import { DevstackError } from './errors.ts';
import { freePort, waitForPort } from './ports.ts';
import { ServerProcess } from './server-process.ts';

export interface RedisOptions {
  port?: number;
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
    const server = new EphemeralRedis(options.port ?? (await freePort()), tempDir('redis'), options);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.process.running) return;
    this.process.start();
    const timeoutMs = this.options.startTimeoutMs ?? 15_000;
    try {
      await Promise.race([
        waitForPort(this.host, this.port, timeoutMs),
        this.process.exited().then(() => {
          throw new Error('the server exited during start-up');
        }),
      ]);
      await this.command('PING');
    } catch (error) {
      await this.process.kill();
      throw new DevstackError(
        'TETHER_DEVSTACK_START',
        `redis did not start: ${(error as Error).message}\n${this.process.recentOutput()}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Run one command on a short-lived admin connection (no retries, no offline queue). */
  async command(...args: (string | number)[]): Promise<unknown> {
    const client = new Redis({
      host: this.host,
      port: this.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
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
