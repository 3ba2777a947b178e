import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from './binaries.ts';
import { removeTempDir, tempDir } from './cleanup.ts';
import { DevstackError } from './errors.ts';
import type { EphemeralPostgres } from './postgres.ts';
import { freePort, waitForPort } from './ports.ts';
import { ServerProcess } from './server-process.ts';

export interface PgBouncerOptions {
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
  /** `pool_mode`. Default `transaction` (what production setups use, and what breaks session state). */
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per database/user pair. Default 20. */
  defaultPoolSize?: number;
  /** Extra `[pgbouncer]` settings (e.g. `{ query_wait_timeout: 5 }`). */
  settings?: Record<string, string | number>;
  /** Start-up wait in ms (default 10000). */
  startTimeoutMs?: number;
}

/** `pgbouncer` from PATH, else Debian's and Homebrew's locations. */
export function findPgBouncer(): string {
  const found =
    findExecutable('pgbouncer', ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin']) ??
    undefined;
  if (found) return found;
  throw new DevstackError(
    'TETHER_DEVSTACK_MISSING_BINARY',
    'pgbouncer was not found on PATH or in /usr/sbin. Install it: Debian/Ubuntu `sudo apt-get install pgbouncer`; macOS `brew install pgbouncer`.',
  );
}

/** The unprivileged account to run as when we are root (PgBouncer refuses to run as root). */
function serviceAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new DevstackError(
      'TETHER_DEVSTACK_NO_POSTGRES_USER',
      'running as root, and PgBouncer refuses to run as root, but there is no `postgres` account to run it as.',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * An ephemeral PgBouncer on 127.0.0.1 in front of an EphemeralPostgres: its database, its application
 * role (SCRAM, same password), transaction pooling by default, logs on stderr, no unix socket.
 * Restart, stop, kill and pause like the other servers; close() removes its folder.
 */
export class EphemeralPgBouncer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  private readonly upstream: EphemeralPostgres;
  private readonly options: PgBouncerOptions;
  private readonly process: ServerProcess;

  private constructor(upstream: EphemeralPostgres, port: number, dir: string, options: PgBouncerOptions) {
    this.upstream = upstream;
    this.port = port;
    this.dir = dir;
    this.options = options;
    const account = serviceAccount();
    this.process = new ServerProcess('pgbouncer', {
      command: findPgBouncer(),
      args: [join(dir, 'pgbouncer.ini')],
      ...(account ?? {}),
    });
  }

  /** libpq URL of the application role through PgBouncer. */
  get url(): string {
    const u = this.upstream;
    return `postgres://${u.user}:${u.password}@${this.host}:${this.port}/${u.database}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  static async start(
    upstream: EphemeralPostgres,
    options: PgBouncerOptions = {},
  ): Promise<EphemeralPgBouncer> {
    const dir = tempDir('pgbouncer');
    const account = serviceAccount();
    const port = options.port ?? (await freePort());
    const settings: Record<string, string | number> = {
      listen_addr: '127.0.0.1',
      listen_port: port,
      unix_socket_dir: '',
      auth_type: 'scram-sha-256',
      auth_file: join(dir, 'userlist.txt'),
      pool_mode: options.poolMode ?? 'transaction',
      default_pool_size: options.defaultPoolSize ?? 20,
      max_client_conn: 500,
      // Short, so a restarted server behind it is found again quickly (defaults: 15 s and 120 s).
      server_login_retry: 1,
      query_wait_timeout: 10,
      ignore_startup_parameters: 'extra_float_digits',
      logfile: '',
      pidfile: '',
      ...options.settings,
    };
    const u = upstream;
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `${u.database} = host=${u.host} port=${u.port} dbname=${u.database}`,
        '[pgbouncer]',
        ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'userlist.txt'), `"${u.user}" "${u.password}"\n`, { mode: 0o600 });
    if (account) {
      for (const file of ['', 'pgbouncer.ini', 'userlist.txt'])
        chownSync(join(dir, file), account.uid, account.gid);
    }
    const bouncer = new EphemeralPgBouncer(upstream, port, dir, options);
    try {
      await bouncer.start();
    } catch (error) {
      removeTempDir(dir);
      throw error;
    }
    return bouncer;
  }

  async start(): Promise<void> {
    if (this.process.running) return;
    this.process.start();
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    try {
      await Promise.race([
        waitForPort(this.host, this.port, timeoutMs),
        this.process.exited().then(() => {
          throw new Error('pgbouncer exited during start-up');
        }),
      ]);
    } catch (error) {
      const output = this.process.recentOutput();
      await this.process.kill();
      throw new DevstackError(
        'TETHER_DEVSTACK_START',
        `pgbouncer did not start: ${(error as Error).message}\n${output}`,
        {
          cause: error,
        },
      );
    }
  }

  /** SIGINT: PgBouncer's immediate shutdown (clients are disconnected). */
  async stop(): Promise<void> {
    await this.process.stop('SIGINT');
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** kill -9: a crash. */
  async kill(): Promise<void> {
    await this.process.kill();
  }

  /** SIGSTOP: connections stay open but nothing answers. */
  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  /** Recent log lines (for assertions and error messages). */
  recentOutput(): string {
    return this.process.recentOutput();
  }

  /** Stop PgBouncer and remove its folder (the Postgres behind it is the caller's). */
  async close(): Promise<void> {
    await this.process.stop('SIGINT', 5_000);
    removeTempDir(this.dir);
  }
}
