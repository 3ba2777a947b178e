/**
 * The WebSocket gateway against a raw `ws` server, same run, same machine:
 *
 * - **Memory per idle connection**: the gateway process (apps/ws-gateway: JWT auth before the
 *   upgrade, per-connection limits, heartbeat timers, the hub) vs a bare `ws` WebSocketServer, each
 *   holding `CLIENTS` idle connections opened by separate client processes. The figure is the server
 *   process's RSS growth (VmRSS from /proc, read from outside, the same way for both) divided by the
 *   connections. Goal <= 1.25x raw.
 * - **Fan-out p99**: every client follows one job; an event is published (the event row written in
 *   Postgres, then XADD to the job-event stream as the worker's relay does; the clock starts right
 *   before the XADD) and the time until each client has it is one sample. The raw server broadcasts
 *   the same frame to every client the moment it is told to (the clock starts before telling it).
 *   Goal: gateway p99 <= 100 ms. Beside it, the CPU per event of the server and of the client
 *   processes (from /proc): with few cores, clients that need most of the CPU in the p99's span make
 *   the p99 a figure of the machine, for raw ws and the gateway alike.
 *
 * Clients and the raw server are this same file in other roles (`WS_BENCH_ROLE`), forked, so the
 * figures of one process are never disturbed by another's event loop. File descriptors: the gateway
 * holds one per client; `ulimit -n` must exceed CLIENTS plus a few hundred (checked at start).
 *
 * Run: `npm run bench -- ws` (`BENCH_SCALE=quick`: 50 clients, a few events).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EphemeralPostgres, EphemeralRedis, startApp } from '@tether/devstack';
import { enqueueJob, JOB_EVENTS_STREAM, reportProgress, transition } from '@tether/jobs';
import { migrate } from '@tether/migrations';
import { createPgPool } from '@tether/pooling';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';
import { benchScale, type MetricComparison, percentile, writeReport } from './report.ts';

const quick = benchScale() === 'quick';
const CLIENTS = quick ? 50 : 5_000;
/** Client processes (each holds CLIENTS / CLIENT_PROCESSES sockets): one event loop for 5,000 sockets would measure itself. */
const CLIENT_PROCESSES = quick ? 1 : 2;
const EVENTS = quick ? 5 : 20;
/** Between publishes: long enough that one event's 5,000 deliveries do not queue behind the last's. */
const EVENT_GAP_MS = quick ? 100 : 1_000;
const SETTLE_MS = quick ? 300 : 3_000;
/** Every event must reach every client within this after the last publish. */
const DELIVERY_TIMEOUT_MS = quick ? 10_000 : 120_000;
const SECRET = 'a-benchmark-secret-of-at-least-32-chars';
/** Loopback inspector on a free port: the benchmark forces a GC through it before reading memory. */
const INSPECT = '--inspect=127.0.0.1:0';
const self = fileURLToPath(import.meta.url);

const now = () => performance.timeOrigin + performance.now();

/** An event frame exactly as the gateway sends it, `data.t0` the publish time. */
function frame(jobId: string, seq: number, t0: number): string {
  return JSON.stringify({
    id: String(seq),
    jobId,
    type: 'progress',
    data: { step: seq, t0 },
    ts: new Date(t0).toISOString(),
  });
}

// ---------- role: raw ws server ----------

/** A bare ws server: accepts every upgrade, broadcasts what the parent sends it. */
async function rawServer(): Promise<void> {
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.on('message', (message: { publish?: string }) => {
    if (message.publish === undefined) return;
    for (const ws of wss.clients) ws.send(message.publish);
  });
  process.send!({ port: (server.address() as AddressInfo).port });
}

// ---------- role: clients ----------

interface ConnectCommand {
  url: string;
  count: number;
  authorization?: string;
  jobId?: string;
}

/** Holds sockets; records (arrival time, frame) per message, parsed only when asked for. */
async function clients(): Promise<void> {
  const sockets: WebSocket[] = [];
  const arrivals: [number, string][] = [];
  let subscribed = 0;
  const connect = async ({ url, count, authorization, jobId }: ConnectCommand) => {
    let failed = 0;
    const one = () =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(url, authorization ? { headers: { authorization } } : {});
        ws.on('message', (data) => {
          const at = now();
          const text = data.toString();
          if (text.startsWith('{"op":"subscribed"')) subscribed++;
          else arrivals.push([at, text]);
        });
        ws.on('error', () => {});
        ws.once('open', () => {
          sockets.push(ws);
          if (jobId) ws.send(JSON.stringify({ op: 'subscribe', jobId }));
          resolve();
        });
        ws.once('unexpected-response', () => {
          failed++;
          resolve();
        });
        ws.once('close', () => resolve());
      });
    // 100 handshakes in flight at a time: a burst of 5,000 SYNs overflows the listen backlog.
    for (let i = 0; i < count; i += 100)
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, one));
    if (jobId) while (subscribed + failed < count) await sleep(20);
    return { open: sockets.length, failed };
  };
  process.on(
    'message',
    async (message: { connect?: ConnectCommand; collect?: true; count?: true; close?: true }) => {
      if (message.connect) process.send!({ connected: await connect(message.connect) });
      if (message.count)
        process.send!({
          counted: {
            received: arrivals.length,
            open: sockets.filter((ws) => ws.readyState === ws.OPEN).length,
          },
        });
      if (message.collect) {
        const latencies: number[] = [];
        for (const [at, text] of arrivals.splice(0)) {
          const t0 = (JSON.parse(text) as { data?: { t0?: number } }).data?.t0;
          if (typeof t0 === 'number') latencies.push(at - t0);
        }
        process.send!({ latencies });
      }
      if (message.close) {
        for (const ws of sockets.splice(0)) ws.terminate();
        process.send!({ closed: true });
      }
    },
  );
  process.send!({ ready: true });
}

// ---------- the benchmark ----------

function forkRole(role: 'raw' | 'clients'): ChildProcess {
  return fork(self, [], {
    // The raw server is measured like the gateway: through its inspector (see settledMemory).
    execArgv: ['--conditions=@tether/source', ...(role === 'raw' ? [INSPECT] : [])],
    env: { ...process.env, WS_BENCH_ROLE: role },
    stdio: ['ignore', 'inherit', role === 'raw' ? 'pipe' : 'inherit', 'ipc'],
  });
}

/** The inspector's WebSocket URL, from the "Debugger listening on ws://…" line a process prints. */
async function inspectorUrl(output: () => string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const match = /Debugger listening on (ws:\/\/\S+)/.exec(output());
    if (match) return match[1]!;
    await sleep(50);
  }
  throw new Error(`no inspector URL in: ${output().slice(0, 500)}`);
}

/** One Chrome DevTools Protocol call over the inspector's WebSocket. */
async function cdp<T>(url: string, method: string): Promise<T> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  ws.send(JSON.stringify({ id: 1, method }));
  for (;;) {
    const [data] = (await once(ws, 'message')) as [Buffer];
    const message = JSON.parse(data.toString()) as { id?: number; result?: T; error?: unknown };
    if (message.id !== 1) continue;
    ws.close();
    if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
    return message.result as T;
  }
}

/**
 * A server's memory once garbage is gone: a full GC through its inspector (without it, garbage from
 * 5,000 handshakes, JWT checks included, would count as memory the connections hold), then VmRSS and
 * the V8 heap in use.
 */
async function settledMemory(pid: number, inspector: string): Promise<{ rssKiB: number; heapKiB: number }> {
  await cdp(inspector, 'HeapProfiler.collectGarbage');
  const { usedSize } = await cdp<{ usedSize: number }>(inspector, 'Runtime.getHeapUsage');
  return { rssKiB: rssKiB(pid), heapKiB: usedSize / 1024 };
}

async function reply<T>(child: ChildProcess, key: string): Promise<T> {
  for (;;) {
    const [message] = (await once(child, 'message')) as [Record<string, unknown>];
    if (key in message) return message[key] as T;
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/**
 * CPU per published event of the server and of the client processes together, over a fan-out phase:
 * on a machine with few cores the clients' share says whether the p99 measures the server or them.
 */
function cpuMeter(serverPid: number, fleet: ClientFleet): () => { server: number; clients: number } {
  const clientPids = fleet.processes.map((p) => p.pid!);
  const sum = () => clientPids.reduce((n, pid) => n + cpuMs(pid), 0);
  const [server0, clients0] = [cpuMs(serverPid), sum()];
  return () => ({ server: (cpuMs(serverPid) - server0) / EVENTS, clients: (sum() - clients0) / EVENTS });
}

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!line) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(line[1]);
}

class ClientFleet {
  readonly processes: ChildProcess[];
  private constructor(processes: ChildProcess[]) {
    this.processes = processes;
  }
  static async start(): Promise<ClientFleet> {
    const processes = Array.from({ length: CLIENT_PROCESSES }, () => forkRole('clients'));
    await Promise.all(processes.map((p) => reply(p, 'ready')));
    return new ClientFleet(processes);
  }
  /** CLIENTS connections split across the processes; throws unless every one opened (and subscribed). */
  async connect(command: Omit<ConnectCommand, 'count'>): Promise<void> {
    const per = Math.ceil(CLIENTS / this.processes.length);
    const results = await Promise.all(
      this.processes.map((p, i) => {
        p.send({ connect: { ...command, count: Math.min(per, CLIENTS - i * per) } });
        return reply<{ open: number; failed: number }>(p, 'connected');
      }),
    );
    const open = results.reduce((n, r) => n + r.open, 0);
    if (open !== CLIENTS) throw new Error(`only ${open} of ${CLIENTS} connections opened (${command.url})`);
  }
  /** Waits until `expected` frames arrived across the fleet (or `timeoutMs` passed); returns how many did. */
  async await(expected: number, timeoutMs: number): Promise<{ received: number; open: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await Promise.all(
        this.processes.map((p) => {
          p.send({ count: true });
          return reply<{ received: number; open: number }>(p, 'counted');
        }),
      );
      const total = { received: 0, open: 0 };
      for (const c of counts) {
        total.received += c.received;
        total.open += c.open;
      }
      if (total.received >= expected || Date.now() > deadline) return total;
      await sleep(250);
    }
  }

  async latencies(): Promise<number[]> {
    const all = await Promise.all(
      this.processes.map((p) => {
        p.send({ collect: true });
        return reply<number[]>(p, 'latencies');
      }),
    );
    return all.flat();
  }
  async closeSockets(): Promise<void> {
    await Promise.all(
      this.processes.map((p) => {
        p.send({ close: true });
        return reply(p, 'closed');
      }),
    );
  }
  stop(): void {
    for (const p of this.processes) p.kill('SIGKILL');
  }
}

/** RSS and heap growth per connection of `pid` while the fleet holds CLIENTS idle connections to `url`. */
async function idleMemory(
  fleet: ClientFleet,
  server: { pid: number; inspector: string },
  url: string,
  authorization?: string,
): Promise<{ rssKiB: number; heapKiB: number }> {
  await sleep(SETTLE_MS);
  const before = await settledMemory(server.pid, server.inspector);
  await fleet.connect({ url, ...(authorization ? { authorization } : {}) });
  await sleep(SETTLE_MS);
  const after = await settledMemory(server.pid, server.inspector);
  await fleet.closeSockets();
  return {
    rssKiB: (after.rssKiB - before.rssKiB) / CLIENTS,
    heapKiB: (after.heapKiB - before.heapKiB) / CLIENTS,
  };
}

async function main(): Promise<void> {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  if (Number.isFinite(limit) && limit < CLIENTS + 512)
    throw new Error(
      `ulimit -n is ${limit}: raise it above ${CLIENTS + 512} (the gateway holds one fd per client)`,
    );
  const [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  await migrate({ databaseUrl: postgres.url });
  const db = createPgPool({ connectionString: postgres.url, max: 2 });
  const publisher = new Redis(redis.url);
  const children: ChildProcess[] = [];
  let fleet: ClientFleet | undefined;
  try {
    const gateway = await startApp(
      new URL('../../../apps/ws-gateway/src/main.ts', import.meta.url).pathname,
      {
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        AUTH_JWT_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        WS_MAX_CONNECTIONS_PER_USER: String(CLIENTS + 10),
        NODE_OPTIONS: INSPECT,
      },
    );
    children.push(gateway.child);
    await gateway.ready('/readyz', 90_000);
    const raw = forkRole('raw');
    let rawStderr = '';
    raw.stderr!.on('data', (chunk: Buffer) => (rawStderr += chunk.toString()));
    children.push(raw);
    const rawPort = (await reply<number>(raw, 'port')) as number;
    fleet = await ClientFleet.start();
    const bearer = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(SECRET));
    const authorization = `Bearer ${bearer}`;
    const gatewayUrl = `ws://127.0.0.1:${gateway.port}/v1/stream`;
    const rawUrl = `ws://127.0.0.1:${rawPort}/`;

    // Memory first, from freshly started servers: a warm-up round would leave garbage whose collection
    // during the measurement can make the growth negative.
    const rawServer = { pid: raw.pid!, inspector: await inspectorUrl(() => rawStderr) };
    const gatewayServer = { pid: gateway.child.pid!, inspector: await inspectorUrl(gateway.output) };
    const rawMemory = await idleMemory(fleet, rawServer, rawUrl);
    const gatewayMemory = await idleMemory(fleet, gatewayServer, gatewayUrl, authorization);
    console.error(
      `per idle connection: raw ws ${JSON.stringify(rawMemory)} KiB, gateway ${JSON.stringify(gatewayMemory)} KiB`,
    );

    // Fan-out through the gateway: the job's events written in Postgres, then relayed with XADD.
    const { job } = await db.transaction((c) =>
      enqueueJob(c, { owner: 'bench', type: 'demo.sleep', payload: { ms: 0, steps: EVENTS } }),
    );
    const leaseToken = crypto.randomUUID();
    await db.transaction((c) =>
      transition(
        c,
        job.id,
        'queued',
        'running',
        {},
        {
          lease: { owner: 'bench', token: leaseToken, ttlMs: 600_000 },
        },
      ),
    );
    await fleet.connect({ url: gatewayUrl, authorization, jobId: job.id });
    await fleet.latencies(); // the replayed history is not fan-out
    const gatewayCpu = cpuMeter(gateway.child.pid!, fleet);
    for (let i = 0; i < EVENTS; i++) {
      const event = await db.transaction((c) => reportProgress(c, job.id, { step: i + 1 }, { leaseToken }));
      if (!event) throw new Error('the job lost its lease');
      const t0 = now();
      await publisher.xadd(
        JOB_EVENTS_STREAM,
        '*',
        'jobId',
        job.id,
        'seq',
        String(event.seq),
        'type',
        'progress',
        'owner',
        'bench',
        'data',
        JSON.stringify({ step: i + 1, t0 }),
        'ts',
        new Date(t0).toISOString(),
      );
      await sleep(EVENT_GAP_MS);
    }
    const viaGateway = await fleet.await(CLIENTS * EVENTS, DELIVERY_TIMEOUT_MS);
    const gatewayCpuPerEvent = gatewayCpu();
    const gatewayLatencies = await fleet.latencies();
    await fleet.closeSockets();

    // The same through raw ws.
    await fleet.connect({ url: rawUrl });
    const rawCpu = cpuMeter(raw.pid!, fleet);
    for (let i = 0; i < EVENTS; i++) {
      raw.send({ publish: frame(job.id, i + 2, now()) });
      await sleep(EVENT_GAP_MS);
    }
    const viaRaw = await fleet.await(CLIENTS * EVENTS, DELIVERY_TIMEOUT_MS);
    const rawCpuPerEvent = rawCpu();
    const rawLatencies = await fleet.latencies();
    await fleet.closeSockets();

    const expected = CLIENTS * EVENTS;
    for (const [name, list, counts] of [
      ['gateway', gatewayLatencies, viaGateway],
      ['raw ws', rawLatencies, viaRaw],
    ] as const)
      if (list.length !== expected)
        throw new Error(
          `${name}: ${list.length} deliveries of ${expected} within ${DELIVERY_TIMEOUT_MS} ms (${counts.open} of ${CLIENTS} sockets open)`,
        );

    const metrics: MetricComparison[] = [
      {
        scenario: `${CLIENTS} idle connections`,
        metric: 'server RSS per idle connection (after a full GC)',
        unit: 'KiB',
        baseline: rawMemory.rssKiB,
        candidate: gatewayMemory.rssKiB,
        better: 'lower',
        ratioGoal: 1.25,
      },
      {
        scenario: `${CLIENTS} idle connections`,
        metric: 'server V8 heap per idle connection (after a full GC)',
        unit: 'KiB',
        baseline: rawMemory.heapKiB,
        candidate: gatewayMemory.heapKiB,
        better: 'lower',
      },
      {
        scenario: `fan-out to ${CLIENTS} clients, ${EVENTS} events`,
        metric: 'publish-to-delivery p99',
        unit: 'ms',
        baseline: percentile(rawLatencies, 99),
        candidate: percentile(gatewayLatencies, 99),
        better: 'lower',
        absoluteGoal: 100,
        samples: { baseline: rawLatencies, candidate: gatewayLatencies },
      },
      {
        scenario: `fan-out to ${CLIENTS} clients, ${EVENTS} events`,
        metric: 'publish-to-delivery p50',
        unit: 'ms',
        baseline: percentile(rawLatencies, 50),
        candidate: percentile(gatewayLatencies, 50),
        better: 'lower',
      },
      {
        scenario: `fan-out to ${CLIENTS} clients, ${EVENTS} events`,
        metric: 'server CPU per event',
        unit: 'ms',
        baseline: rawCpuPerEvent.server,
        candidate: gatewayCpuPerEvent.server,
        better: 'lower',
      },
      {
        // Compared with the server's: when the clients need as much CPU as the cores can give in the
        // p99's span, the p99 measures the machine, for raw ws and the gateway alike.
        scenario: `fan-out to ${CLIENTS} clients, ${EVENTS} events`,
        metric: `client processes' CPU per event (all ${CLIENT_PROCESSES})`,
        unit: 'ms',
        baseline: rawCpuPerEvent.clients,
        candidate: gatewayCpuPerEvent.clients,
        better: 'lower',
      },
    ];
    writeReport({
      name: 'ws',
      baselineLabel: 'raw ws',
      candidateLabel: 'ws-gateway',
      comparisons: [],
      metrics,
      environment: {
        clients: CLIENTS,
        clientProcesses: CLIENT_PROCESSES,
        events: EVENTS,
        eventGapMs: EVENT_GAP_MS,
      },
    });
  } finally {
    fleet?.stop();
    for (const child of children) child.kill('SIGKILL');
    publisher.disconnect();
    await db.drain(2_000);
    await Promise.all([postgres.close(), redis.close()]);
  }
}

const role = process.env['WS_BENCH_ROLE'];
if (role === 'raw') await rawServer();
else if (role === 'clients') await clients();
else await main();
