import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPostgres } from './binaries.ts';
import { removeTempDir, tempDir } from './cleanup.ts';
import { DevstackError } from './errors.ts';
import { onFreePort, startError, waitForPort, type FreePortRetry } from './ports.ts';
import { ServerProcess } from './server-process.ts';

const run = promisify(execFile);

export interface PostgresOptions {
  /** Port on 127.0.0.1; default: a free one, picked again when it is taken before Postgres binds it. */
  port?: number;
  /** How a free port is picked when `port` is unset (default `freePort`), and how often. */
  freePort?: FreePortRetry;
  /** Extra server settings passed as `-c name=value` (e.g. `{ idle_session_timeout: '1s' }`). */
  settings?: Record<string, string | number>;
  /** Start-up wait in ms (default 30000). */
  startTimeoutMs?: number;
  /**
   * Also serve TLS (`ssl = on`) with a throwaway CA made by `openssl` in the data dir: a server
   * certificate for 127.0.0.1/localhost and a client certificate for the role `certUser`, which may
   * log in only over TLS with that certificate (pg_hba `cert`). Password logins are unchanged and
   * may use TLS too. See `tls` and `certUrl`. Default: off (plaintext only, no openssl needed).
   */
  tls?: boolean;
}

/** Files of the throwaway CA and client certificate of a server started with `tls: true` (PEM). */
export interface PostgresTls {
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The role that authenticates with the client certificate (its CN), no password. */
  certUser: string;
}

const CERT_USER = 'tether_cert';

/** The unprivileged account Postgres runs as when we are root (it refuses to run as root). */
function postgresAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new DevstackError(
      'TETHER_DEVSTACK_NO_POSTGRES_USER',
      'running as root, and Postgres refuses to run as root, but there is no `postgres` account to run it as. ' +
        'Install the postgresql package (it creates the account) or run the tests as a normal user.',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * An ephemeral Postgres cluster on 127.0.0.1: initdb into a temp dir, durability off (tests only),
 * an application role `tether` with a random password (scram over TCP, like production) owning the
 * database `tether`, and a superuser reachable only over the unix socket for fault injection.
 */
export class EphemeralPostgres {
  readonly host = '127.0.0.1';
  readonly database = 'tether';
  readonly user = 'tether';
  readonly password = randomBytes(12).toString('hex');
  /** Chosen when the server first starts (and again if that port was taken); fixed from then on. */
  private currentPort: number;
  readonly dataDir: string;
  private readonly options: PostgresOptions;
  private process: ServerProcess | undefined;
  private databaseCreated = false;

  private constructor(port: number, dataDir: string, options: PostgresOptions) {
    this.currentPort = port;
    this.dataDir = dataDir;
    this.options = options;
  }

  get port(): number {
    return this.currentPort;
  }

  /** libpq URL of the application role over TCP. */
  get url(): string {
    return `postgres://${this.user}:${this.password}@${this.host}:${this.port}/${this.database}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  static async start(options: PostgresOptions = {}): Promise<EphemeralPostgres> {
    const bins = findPostgres();
    const account = postgresAccount();
    const dataDir = tempDir('pg');
    if (account) chownSync(dataDir, account.uid, account.gid);
    const server = new EphemeralPostgres(options.port ?? 0, dataDir, options);
    try {
      await run(
        bins.initdb,
        [
          '-D',
          dataDir,
          '-U',
          'postgres',
          '--auth-local=trust',
          '--auth-host=trust',
          '--no-sync',
          '-E',
          'UTF8',
          '--locale=C',
        ],
        { ...(account ?? {}) },
      );
    } catch (error) {
      removeTempDir(dataDir);
      throw new DevstackError(
        'TETHER_DEVSTACK_INITDB',
        `initdb failed: ${(error as { stderr?: string }).stderr ?? error}`,
        {
          cause: error,
        },
      );
    }
    if (options.tls) {
      try {
        await server.makeCertificates(account);
      } catch (error) {
        removeTempDir(dataDir);
        throw new DevstackError(
          'TETHER_DEVSTACK_TLS',
          `making the throwaway certificates with openssl failed: ${(error as { stderr?: string }).stderr ?? error}`,
          { cause: error },
        );
      }
    }
    // Application connections over TCP authenticate with scram; the superuser uses the socket.
    // With TLS, the certificate role logs in only over TLS with its client certificate.
    const certLines = options.tls
      ? `hostssl all ${CERT_USER} 127.0.0.1/32 cert\nhost all ${CERT_USER} 127.0.0.1/32 reject\n`
      : '';
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      `local all all trust\nhost all postgres 127.0.0.1/32 reject\n${certLines}host all all 127.0.0.1/32 scram-sha-256\n`,
    );
    if (account) chownSync(join(dataDir, 'pg_hba.conf'), account.uid, account.gid);
    const startOn = async (port: number) => {
      server.currentPort = port;
      server.process = new ServerProcess('postgres', {
        command: bins.postgres,
        args: server.serverArgs(),
        ...(account ?? {}),
      });
      await server.startProcess();
    };
    try {
      if (options.port !== undefined) await startOn(options.port);
      else await onFreePort(startOn, options.freePort);
    } catch (error) {
      removeTempDir(dataDir);
      throw error;
    }
    await server.sql(`CREATE ROLE ${server.user} LOGIN PASSWORD '${server.password}'`);
    await server.sql(`CREATE DATABASE ${server.database} OWNER ${server.user}`);
    if (options.tls) await server.sql(`CREATE ROLE ${CERT_USER} LOGIN`);
    server.databaseCreated = true;
    return server;
  }

  /** With `tls: true`: the CA to verify the server against and the certificate role's files. */
  get tls(): PostgresTls | undefined {
    if (!this.options.tls) return undefined;
    return {
      caFile: join(this.dataDir, 'ca.crt'),
      clientCertFile: join(this.dataDir, 'client.crt'),
      clientKeyFile: join(this.dataDir, 'client.key'),
      certUser: CERT_USER,
    };
  }

  /** With `tls: true`: libpq URL of the certificate role, `sslmode=verify-full` with the files above. */
  get certUrl(): string | undefined {
    const tls = this.tls;
    if (!tls) return undefined;
    const query = new URLSearchParams({
      sslmode: 'verify-full',
      sslrootcert: tls.caFile,
      sslcert: tls.clientCertFile,
      sslkey: tls.clientKeyFile,
    });
    return `postgres://${tls.certUser}@${this.host}:${this.port}/${this.database}?${query}`;
  }

  /** A CA, a server certificate signed by it and a client certificate for CERT_USER (EC P-256, 2 days). */
  private async makeCertificates(account: { uid: number; gid: number } | undefined): Promise<void> {
    const at = (name: string) => join(this.dataDir, name);
    const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run('openssl', [
      'req',
      '-x509',
      ...key,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=tether devstack throwaway CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const issue = async (name: string, cn: string, extensions: string) => {
      writeFileSync(at(`${name}.ext`), extensions);
      await run('openssl', [
        'req',
        ...key,
        '-keyout',
        at(`${name}.key`),
        '-out',
        at(`${name}.csr`),
        '-subj',
        `/CN=${cn}`,
      ]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        at(`${name}.csr`),
        '-CA',
        at('ca.crt'),
        '-CAkey',
        at('ca.key'),
        '-CAcreateserial',
        '-out',
        at(`${name}.crt`),
        '-days',
        '2',
        '-extfile',
        at(`${name}.ext`),
      ]);
    };
    await issue(
      'server',
      this.host,
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await issue('client', CERT_USER, 'extendedKeyUsage=clientAuth\n');
    // Postgres refuses a key file readable by others, and reads it as its own account.
    chmodSync(at('server.key'), 0o600);
    if (account)
      for (const name of ['ca.crt', 'server.crt', 'server.key'])
        chownSync(at(name), account.uid, account.gid);
  }

  private serverArgs(): string[] {
    const settings: Record<string, string | number> = {
      listen_addresses: this.host,
      unix_socket_directories: this.dataDir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 300,
      shared_buffers: '64MB',
      log_min_messages: 'warning',
      ...(this.options.tls
        ? {
            ssl: 'on',
            ssl_cert_file: join(this.dataDir, 'server.crt'),
            ssl_key_file: join(this.dataDir, 'server.key'),
            ssl_ca_file: join(this.dataDir, 'ca.crt'),
          }
        : {}),
      ...this.options.settings,
    };
    return [
      '-D',
      this.dataDir,
      '-p',
      String(this.port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
  }

  private async startProcess(): Promise<void> {
    const proc = this.process as ServerProcess;
    proc.start();
    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    try {
      await Promise.race([
        this.waitReady(timeoutMs),
        proc.exited().then(() => {
          throw new Error('the server exited during start-up');
        }),
      ]);
    } catch (error) {
      await proc.kill();
      throw startError('postgres', error, proc.recentOutput());
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await waitForPort(this.host, this.port, timeoutMs);
    for (;;) {
      try {
        await this.sql('SELECT 1');
        return;
      } catch (error) {
        // 57P03: the database system is starting up
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /**
   * Run SQL as the superuser over the unix socket (one short-lived connection), in the application
   * database unless `database` says otherwise.
   */
  async sql<T extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params: unknown[] = [],
    database: string = this.databaseCreated ? this.database : 'postgres',
  ): Promise<T[]> {
    const client = new pg.Client({ host: this.dataDir, port: this.port, user: 'postgres', database });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** `ALTER SYSTEM SET name = value` and reload: takes effect for new sessions. */
  async setConfig(name: string, value: string | number): Promise<void> {
    if (!/^[a-z_.]+$/.test(name))
      throw new DevstackError('TETHER_DEVSTACK_BAD_ARGUMENT', `not a setting name: ${name}`);
    await this.sql(`ALTER SYSTEM SET ${name} = '${String(value).replaceAll("'", "''")}'`);
    await this.sql('SELECT pg_reload_conf()');
  }

  /**
   * `pg_terminate_backend` every session of the application role (or those matching `where`, a SQL
   * condition on pg_stat_activity). Returns how many were terminated.
   */
  async terminateBackends(where = `usename = '${this.user}'`): Promise<number> {
    const rows = await this.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (${where})) t`,
    );
    return rows[0]?.n ?? 0;
  }

  /** Number of sessions of the application role. */
  async connectionCount(): Promise<number> {
    const rows = await this.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = '${this.user}'`,
    );
    return rows[0]?.n ?? 0;
  }

  /** Clean shutdown (`fast`: disconnect clients, SIGINT) — clients see 57P01. */
  async stop(): Promise<void> {
    await this.process?.stop('SIGINT');
  }

  async start(): Promise<void> {
    if (this.process?.running) return;
    await this.startProcess();
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** kill -9 of the postmaster and its backends: a crash. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** SIGSTOP the server: connections stay open but nothing answers. */
  pause(): void {
    this.process?.pause();
  }

  resume(): void {
    this.process?.resume();
  }

  /** Stop the server and remove its data. */
  async close(): Promise<void> {
    await this.process?.stop('SIGQUIT', 5_000);
    removeTempDir(this.dataDir);
  }
}
