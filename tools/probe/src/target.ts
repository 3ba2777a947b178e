/**
 * What the probe connects to, and one probe connection: a real protocol round trip (`SELECT 1`,
 * `PING`) so the answer proves the whole path — client, middleboxes, server — still carries the
 * flow. Keepalive is off unless asked for: the point is to see what an idle flow meets.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import pg from 'pg';

/** How a round trip on an idle connection ended. */
export type Outcome = 'ok' | 'silent' | 'reset' | 'closed';

export interface Target {
  kind: 'postgres' | 'redis';
  /** The URL as given (credentials included): never printed, logged or put in a report. */
  url: string;
  /** The URL without credentials or query: safe to print. */
  display: string;
}

export class ProbeInputError extends Error {
  readonly code = 'TETHER_PROBE_INVALID_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'ProbeInputError';
  }
}

export function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProbeInputError('target must be a postgres://, postgresql://, redis:// or rediss:// URL');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const kind =
    scheme === 'postgres' || scheme === 'postgresql'
      ? 'postgres'
      : scheme === 'redis' || scheme === 'rediss'
        ? 'redis'
        : undefined;
  if (!kind) {
    throw new ProbeInputError(
      `target scheme must be postgres, postgresql, redis or rediss (got "${scheme}"); ` +
        'a bare tcp:// target cannot be probed: without a protocol round trip a silent drop looks like a healthy idle flow',
    );
  }
  if (!parsed.hostname) throw new ProbeInputError('target URL has no host');
  const port = parsed.port || (kind === 'postgres' ? '5432' : '6379');
  const path = kind === 'postgres' ? parsed.pathname : '';
  return { kind, url, display: `${scheme}://${parsed.hostname}:${port}${path}` };
}

/** One connection of the probe. */
export interface ProbeConnection {
  /** One protocol round trip, classified; never rejects. */
  roundTrip(timeoutMs: number): Promise<Outcome>;
  /** When the last byte from the server arrived (ms since epoch): idle time counts from here. */
  readonly lastReplyAt: number;
  close(): void;
}

function classify(error: unknown): Outcome {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'closed';
}

async function openPostgres(target: Target, keepAliveMs: number | undefined, timeoutMs: number) {
  const client = new pg.Client({
    connectionString: target.url,
    keepAlive: keepAliveMs !== undefined,
    keepAliveInitialDelayMillis: keepAliveMs ?? 0,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'tether-probe',
  });
  let failure: Outcome | undefined;
  client.on('error', (error) => {
    failure ??= classify(error);
  });
  await client.connect();
  const connection: ProbeConnection = {
    lastReplyAt: Date.now(),
    async roundTrip(ms) {
      if (failure) return failure;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<Outcome>((resolve) => {
        timer = setTimeout(() => resolve('silent'), ms);
      });
      const query = client.query('SELECT 1').then(
        () => {
          (connection as { lastReplyAt: number }).lastReplyAt = Date.now();
          return 'ok' as const;
        },
        (error: unknown) => failure ?? classify(error),
      );
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      // end() would wait for a reply that may never come on a dead path.
      (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
    },
  };
  return connection;
}

async function openRedis(target: Target, keepAliveMs: number | undefined, timeoutMs: number) {
  const parsed = new URL(target.url);
  const port = Number(parsed.port || 6379);
  const socket =
    parsed.protocol === 'rediss:'
      ? tlsConnect({ host: parsed.hostname, port, servername: parsed.hostname })
      : netConnect({ host: parsed.hostname, port });
  socket.setKeepAlive(keepAliveMs !== undefined, keepAliveMs ?? 0);
  let failure: Outcome | undefined;
  let pending: ((outcome: Outcome) => void) | undefined;
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    if (!buffered.endsWith('\r\n')) return;
    const reply = buffered;
    buffered = '';
    (connection as { lastReplyAt: number }).lastReplyAt = Date.now();
    pending?.(reply.startsWith('-') ? 'closed' : 'ok');
    if (reply.startsWith('-')) failure ??= 'closed';
  });
  const fail = (outcome: Outcome) => {
    failure ??= outcome;
    pending?.(outcome);
  };
  socket.on('error', (error) => fail(classify(error)));
  socket.on('end', () => fail('closed'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once(parsed.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const send = (command: string[]) =>
    socket.write(
      `*${command.length}\r\n${command.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
    );
  const connection: ProbeConnection = {
    lastReplyAt: Date.now(),
    roundTrip(ms) {
      if (failure) return Promise.resolve(failure);
      return new Promise<Outcome>((resolve) => {
        const timer = setTimeout(() => done('silent'), ms);
        const done = (outcome: Outcome) => {
          clearTimeout(timer);
          pending = undefined;
          resolve(outcome);
        };
        pending = done;
        send(['PING']);
      });
    },
    close() {
      socket.destroy();
    },
  };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  if (password) {
    send(user ? ['AUTH', user, password] : ['AUTH', password]);
    const auth = await new Promise<Outcome>((resolve) => {
      pending = resolve;
      setTimeout(() => resolve('silent'), timeoutMs);
    });
    pending = undefined;
    if (auth !== 'ok') {
      socket.destroy();
      throw new Error('Redis AUTH failed (check the credentials in the URL)');
    }
  }
  return connection;
}

/** Open and check one connection (rejects when the target cannot be reached at all). */
export async function openConnection(
  target: Target,
  options: { keepAliveMs?: number; timeoutMs: number },
): Promise<ProbeConnection> {
  const connection =
    target.kind === 'postgres'
      ? await openPostgres(target, options.keepAliveMs, options.timeoutMs)
      : await openRedis(target, options.keepAliveMs, options.timeoutMs);
  const first = await connection.roundTrip(options.timeoutMs);
  if (first !== 'ok') {
    connection.close();
    throw new Error(`the first round trip to ${target.display} did not succeed (${first})`);
  }
  return connection;
}
