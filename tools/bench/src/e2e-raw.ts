/**
 * The end-to-end benchmark's baseline: the same path as Tether's (HTTP API -> Postgres -> worker ->
 * event -> WebSocket push) with nothing but raw pg, node:http and ws, in the same three-process
 * shape (`e2e-raw.ts api|worker|ws`, DATABASE_URL and PORT from the environment):
 *
 * - api: `POST /v1/jobs` inserts the job and its `queued` event (seq 1) and NOTIFYs the worker, in
 *   one transaction; answers 202 `{ id }`. No auth, no validation, no idempotency, no outbox.
 * - worker: LISTENs, marks the job running (event seq 2) and succeeded (seq 3), NOTIFYing each event.
 * - ws: `{"op":"subscribe","jobId"}` replays the job's events, then pushes new ones from NOTIFY, in
 *   the gateway's message format; notifications that arrive during the replay are held, not lost.
 *
 * Each prints `{"port":…}` (or `{}`) on its first stdout line once it is ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';

const JOBS_CHANNEL = 'bench_raw_jobs';
const EVENTS_CHANNEL = 'bench_raw_events';
const POOL_MAX = 10;

/** Creates the baseline's two tables (idempotent). */
export async function createRawSchema(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`
      CREATE TABLE IF NOT EXISTS bench_raw_jobs (id bigserial PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, status text NOT NULL);
      CREATE TABLE IF NOT EXISTS bench_raw_events (job_id bigint NOT NULL, seq int NOT NULL, type text NOT NULL, ts timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job_id, seq));`);
  } finally {
    await client.end();
  }
}

interface EventRow {
  job_id: string;
  seq: number;
  type: string;
  ts: Date;
}

const frame = (e: EventRow): string =>
  JSON.stringify({ id: String(e.seq), jobId: String(e.job_id), type: e.type, data: {}, ts: e.ts });

function ready(port?: number): void {
  console.log(JSON.stringify(port === undefined ? {} : { port }));
}

async function api(pool: pg.Pool): Promise<void> {
  const server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/jobs') {
      response.writeHead(404).end();
      return;
    }
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', async () => {
      const client = await pool.connect();
      try {
        const { type, payload } = JSON.parse(body) as { type: string; payload: unknown };
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO bench_raw_jobs (type, payload, status) VALUES ($1, $2, 'queued') RETURNING id`,
          [type, JSON.stringify(payload)],
        );
        const id = (rows[0] as { id: string }).id;
        await client.query(`INSERT INTO bench_raw_events (job_id, seq, type) VALUES ($1, 1, 'queued')`, [id]);
        await client.query(`SELECT pg_notify('${JOBS_CHANNEL}', $1)`, [id]);
        await client.query('COMMIT');
        response
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id, status: 'queued' }));
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        response.writeHead(500).end((error as Error).message);
      } finally {
        client.release();
      }
    });
  });
  server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () =>
    ready((server.address() as AddressInfo).port),
  );
}

async function worker(pool: pg.Pool, listener: pg.Client): Promise<void> {
  const step = async (id: string, seq: number, from: string, to: string) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        `UPDATE bench_raw_jobs SET status = $2 WHERE id = $1 AND status = $3`,
        [id, to, from],
      );
      if (rowCount === 1) {
        const { rows } = await client.query<EventRow>(
          `INSERT INTO bench_raw_events (job_id, seq, type) VALUES ($1, $2, $3) RETURNING job_id, seq, type, ts`,
          [id, seq, to],
        );
        await client.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [JSON.stringify(rows[0])]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  listener.on('notification', ({ payload }) => {
    if (!payload) return;
    void step(payload, 2, 'queued', 'running')
      .then(() => step(payload, 3, 'running', 'succeeded'))
      .catch((error: Error) => console.error(`raw worker: job ${payload}: ${error.message}`));
  });
  await listener.query(`LISTEN ${JOBS_CHANNEL}`);
  ready();
}

interface Subscription {
  socket: WebSocket;
  last: number;
  /** notifications that arrived while the replay was being read */
  held: EventRow[] | undefined;
}

async function ws(pool: pg.Pool, listener: pg.Client): Promise<void> {
  const subscriptions = new Map<string, Set<Subscription>>();
  const send = (sub: Subscription, e: EventRow) => {
    if (e.seq <= sub.last) return;
    sub.last = e.seq;
    sub.socket.send(frame(e));
  };
  listener.on('notification', ({ payload }) => {
    if (!payload) return;
    const e = JSON.parse(payload) as EventRow;
    for (const sub of subscriptions.get(String(e.job_id)) ?? []) {
      if (sub.held) sub.held.push(e);
      else send(sub, e);
    }
  });
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
  const server = createServer();
  const wss = new WebSocketServer({ server, path: '/v1/stream' });
  wss.on('connection', (socket) => {
    const mine = new Map<string, Subscription>();
    socket.on('message', async (data) => {
      const message = JSON.parse(data.toString()) as { op: string; jobId: string };
      if (message.op === 'unsubscribe') {
        const sub = mine.get(message.jobId);
        if (sub) subscriptions.get(message.jobId)?.delete(sub);
        mine.delete(message.jobId);
        return;
      }
      if (message.op !== 'subscribe') return;
      const sub: Subscription = { socket, last: 0, held: [] };
      mine.set(message.jobId, sub);
      const set = subscriptions.get(message.jobId) ?? new Set();
      subscriptions.set(message.jobId, set.add(sub));
      const { rows } = await pool.query<EventRow>(
        'SELECT job_id, seq, type, ts FROM bench_raw_events WHERE job_id = $1 ORDER BY seq',
        [message.jobId],
      );
      for (const e of rows) send(sub, e);
      for (const e of (sub.held ?? []).sort((a, b) => a.seq - b.seq)) send(sub, e);
      sub.held = undefined;
      socket.send(JSON.stringify({ op: 'subscribed', jobId: message.jobId }));
    });
    socket.on('close', () => {
      for (const [jobId, sub] of mine) subscriptions.get(jobId)?.delete(sub);
    });
  });
  server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () =>
    ready((server.address() as AddressInfo).port),
  );
}

async function main(role: string | undefined): Promise<void> {
  const connectionString = process.env['DATABASE_URL'];
  if (!connectionString) throw new Error('DATABASE_URL is not set');
  // Warm and kept open, as the apps' pools are: otherwise the baseline pays for connection set-up
  // (SCRAM auth) inside the measured window, and again after every idle pause between rounds.
  const pool = new pg.Pool({ connectionString, max: POOL_MAX, idleTimeoutMillis: 0 });
  pool.on('error', () => {});
  const warm = await Promise.all(Array.from({ length: POOL_MAX }, () => pool.connect()));
  for (const client of warm) client.release();
  process.once('SIGTERM', () => process.exit(0));
  if (role === 'api') return api(pool);
  const listener = new pg.Client({ connectionString });
  await listener.connect();
  if (role === 'worker') return worker(pool, listener);
  if (role === 'ws') return ws(pool, listener);
  throw new Error(`role must be api, worker or ws (got ${role})`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main(process.argv[2]);
