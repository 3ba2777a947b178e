/**
 * A real gateway for tests: ephemeral Postgres (migrated) and Redis, the gateway in-process on a real
 * HTTP port, jobs written with @tether/jobs and relayed to the Redis Stream like the worker does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '@tether/auth';
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import {
  enqueueJob,
  JOB_EVENTS_STREAM,
  relayBatch,
  reportProgress,
  type StreamEntry,
  transition,
} from '@tether/jobs';
import { migrate } from '@tether/migrations';
import { createPgPool, createRedis, type TetherPgPool, type TetherRedis } from '@tether/pooling';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { createGateway, type Gateway } from '../src/gateway.ts';
import type { GatewayOptions } from '../src/options.ts';

export const SECRET = 'gateway-test-secret-of-at-least-32-chars';

export function token(sub: string, expiresIn: string | number = '10m'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));
}

export interface Stack {
  postgres: EphemeralPostgres;
  redis: EphemeralRedis;
  db: TetherPgPool;
  admin: Redis;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  await migrate({ databaseUrl: postgres.url });
  const db = createPgPool({ connectionString: postgres.url, max: 10 });
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  return {
    postgres,
    redis,
    db,
    admin,
    async close() {
      admin.disconnect();
      await db.drain(2_000);
      await Promise.all([postgres.close(), redis.close()]);
    },
  };
}

export interface RunningGateway {
  gateway: Gateway;
  server: Server;
  url: string;
  redis: TetherRedis;
  close(): Promise<void>;
}

export async function startGateway(
  stack: Stack,
  options: Partial<GatewayOptions> = {},
): Promise<RunningGateway> {
  const redis = createRedis({ url: stack.redis.url, profile: 'worker', name: 'gateway-stream' });
  const gateway = createGateway({
    db: stack.db,
    redis,
    verify: createTokenVerifier({ secret: SECRET }),
    options: { fallbackPollMs: 200, ...options },
  });
  const server = createServer((_req, res) => res.writeHead(426).end());
  gateway.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/stream`;
  return {
    gateway,
    server,
    url,
    redis,
    async close() {
      for (const ws of gateway.wss.clients) ws.terminate();
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function newJob(stack: Stack, owner: string): Promise<string> {
  const { job } = await stack.db.transaction((c) =>
    enqueueJob(c, { owner, type: 'demo.sleep', payload: { ms: 10, steps: 3 } }),
  );
  return job.id;
}

/**
 * running, `steps` progress events, succeeded: what a worker writes, each in its own transaction.
 * With `finish: false` the job is left running; pass the returned lease token to `succeed`.
 */
export async function runJob(
  stack: Stack,
  jobId: string,
  steps: number,
  data: Record<string, unknown> = {},
  afterEach: () => Promise<void> = async () => {},
  { finish = true }: { finish?: boolean } = {},
): Promise<string> {
  const token = crypto.randomUUID();
  await stack.db.transaction((c) =>
    transition(c, jobId, 'queued', 'running', {}, { lease: { owner: 'test-worker', token, ttlMs: 60_000 } }),
  );
  for (let i = 1; i <= steps; i++) {
    await stack.db.transaction((c) =>
      reportProgress(c, jobId, { step: i, of: steps, ...data }, { leaseToken: token }),
    );
    await afterEach();
  }
  if (finish) await succeed(stack, jobId, token);
  return token;
}

/** The running job (lease `leaseToken`) succeeds. */
export async function succeed(stack: Stack, jobId: string, leaseToken: string): Promise<void> {
  await stack.db.transaction((c) =>
    transition(c, jobId, 'running', 'succeeded', {}, { result: { ok: true }, leaseToken }),
  );
}

function xaddArgs(e: StreamEntry): string[] {
  return ['*', 'jobId', e.jobId, 'seq', e.seq, 'type', e.type, 'owner', e.owner, 'data', e.data, 'ts', e.ts];
}

/** Relays every unrelayed event to the stream, as the worker's relay does (at least once, in order). */
export async function relay(
  stack: Stack,
  options: { twice?: boolean; skipSeq?: number } = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const { relayed } = await stack.db.transaction((c) =>
      relayBatch(c, async (entries) => {
        if (stack.admin.status === 'wait') await stack.admin.connect();
        for (const e of entries) {
          if (Number(e.seq) === options.skipSeq) continue; // a stream entry lost on the way
          await stack.admin.xadd(JOB_EVENTS_STREAM, ...(xaddArgs(e) as [string, ...string[]]));
          if (options.twice)
            await stack.admin.xadd(JOB_EVENTS_STREAM, ...(xaddArgs(e) as [string, ...string[]]));
        }
      }),
    );
    total += relayed;
    if (relayed === 0) return total;
  }
}

export interface Frame {
  op?: string;
  id?: string;
  jobId?: string;
  type?: string;
  code?: string;
  reason?: string;
  data?: Record<string, unknown>;
}

/** A ws client that records every frame and its close. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(url: string, bearer: string | undefined, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, {
      ...(bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {}),
      ...options,
    });
    this.ws.on('message', (data) => this.frames.push(JSON.parse(data.toString()) as Frame));
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
      this.ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  events(jobId: string): Frame[] {
    return this.frames.filter((f) => f.op === undefined && f.jobId === jobId);
  }

  ids(jobId: string): number[] {
    return this.events(jobId).map((f) => Number(f.id));
  }

  async until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 500)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Polls `check` every 25 ms; throws naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
