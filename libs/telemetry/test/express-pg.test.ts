import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, forkApp, waitFor } from './fork-app.ts';
import type { PlainSpan } from './fixtures/telemetry-first.ts';

let postgres: EphemeralPostgres;
let api: App;
let worker: App;
let logFile: string;
let base: string;

beforeAll(async () => {
  postgres = await EphemeralPostgres.start();
  await postgres.sql(
    `CREATE TABLE jobs (id serial PRIMARY KEY, type text NOT NULL, trace jsonb, status text NOT NULL DEFAULT 'queued')`,
  );
  await postgres.sql('GRANT ALL ON jobs, jobs_id_seq TO tether');
  logFile = join(mkdtempSync(join(tmpdir(), 'tether-telemetry-')), 'api.log');
  const env = { DATABASE_URL: postgres.url, SPAN_EXPORT: 'memory', LOG_FILE: logFile };
  [api, worker] = await Promise.all([
    forkApp('api-main.ts', { ...env, SERVICE_NAME: 'api' }),
    forkApp('worker-app.ts', { ...env, SERVICE_NAME: 'worker', LOG_FILE: `${logFile}.worker` }),
  ]);
  base = `http://127.0.0.1:${api.ready['port']}`;
});

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await postgres?.close();
});

const byId = (spans: PlainSpan[]) => new Map(spans.map((s) => [s.spanId, s]));

/** The chain of span names from `span` up to its root, within one process's spans. */
function ancestry(span: PlainSpan, spans: PlainSpan[]): PlainSpan[] {
  const index = byId(spans);
  const chain = [span];
  let current = span;
  while (current.parentSpanId && index.has(current.parentSpanId)) {
    current = index.get(current.parentSpanId) as PlainSpan;
    chain.push(current);
  }
  return chain;
}

describe('an Express route that queries Postgres (real servers, app in its own process)', () => {
  it('produces server -> pg spans with the right parents (no Express layer spans by default)', async () => {
    const response = await fetch(`${base}/items/7`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 7 });

    const spans = await waitFor('pg span', async () => {
      const all = await api.spans();
      return all.some((s) => s.scope.includes('instrumentation-pg') && s.name.startsWith('pg.query'))
        ? all
        : undefined;
    });
    const server = spans.find((s) => s.kind === SpanKind.SERVER && s.attributes['url.path'] === '/items/7');
    const query = spans.find((s) => s.scope.includes('instrumentation-pg') && s.name.startsWith('pg.query'));
    expect(server, 'http server span').toBeDefined();
    expect(query, 'pg query span').toBeDefined();
    const chain = ancestry(query as PlainSpan, spans);
    // pg.query -> GET /items/:id (the lean server span)
    expect(chain.map((s) => s.scope)).toEqual([
      '@opentelemetry/instrumentation-pg',
      '@tether/telemetry/http-server',
    ]);
    expect(chain.at(-1)?.spanId).toBe(server?.spanId);
    expect(chain[0]?.attributes['db.query.text']).toBe('SELECT $1::int AS id, now() AS at');
    expect(chain.every((s) => s.traceId === server?.traceId)).toBe(true);
    expect(server?.name).toBe('GET /items/:id');
    expect(server?.attributes['http.route']).toBe('/items/:id');
    expect(spans.some((s) => s.scope.includes('instrumentation-express'))).toBe(false);
    // Query parameters are never recorded (they can be secrets).
    expect(JSON.stringify(query?.attributes)).not.toContain('db.query.parameter');
  });

  it('reports each pool once: the db.client.connection.* series of @tether/pooling, none from the pg instrumentation', async () => {
    // Sampled requests through Pool#connect: the stock pg instrumentation would now subscribe to the
    // pool's events and add its own db.client.connection.* series, its pool named host:port/database,
    // updated on every checkout and release of every later request.
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/items/${i}`)).status).toBe(200);
    const body = await (await fetch(`${base}/metrics`)).text();
    const series = body
      .split('\n')
      .filter((line) => /^db_client_connection_(count|max|pending_requests)\{/.test(line));
    expect(series.length, body).toBeGreaterThan(0);
    for (const line of series) expect(line).not.toMatch(/pool_name="[^"]*:\d+\/[^"]*"/);
    // The instrumentation's query metric stays.
    expect(body).toMatch(/^db_client_operation_duration\w*_count\{/m);
  });

  it('an unsampled request (caller sent flag 00) makes no server or pg span, yet its job row carries the trace', async () => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
    const response = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
      body: '{"type":"unsampled"}',
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: number };
    const [row] = await postgres.sql<{ trace: { traceparent?: string } }>(
      'SELECT trace FROM jobs WHERE id = $1',
      [id],
    );
    // The not-sampled decision travels with the job, so the worker does not start a half trace.
    expect(row?.trace.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // A sampled request after it is exported; nothing of the unsampled one ever is.
    await fetch(`${base}/items/8`);
    await waitFor('the sampled request', async () =>
      (await api.spans()).find((s) => s.attributes['url.path'] === '/items/8'),
    );
    expect((await api.spans()).filter((s) => s.traceId === traceId)).toHaveLength(0);
  });

  it('continues an incoming traceparent and never traces probe paths', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await (await fetch(`${base}/livez`)).text();
    await (
      await fetch(`${base}/items/3?token=secret-in-query`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      })
    ).text();
    const spans = await waitFor('server span', async () => {
      const all = await api.spans();
      return all.some((s) => s.traceId === traceId && s.kind === SpanKind.SERVER) ? all : undefined;
    });
    const server = spans.find((s) => s.traceId === traceId && s.kind === SpanKind.SERVER);
    expect(server?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(JSON.stringify(server?.attributes)).not.toContain('secret-in-query');
    expect(spans.filter((s) => String(s.attributes['url.path']).startsWith('/livez'))).toHaveLength(0);
  });

  it('puts the request trace id on every log line written inside the request', async () => {
    await fetch(`${base}/items/42`);
    const spans = await api.spans();
    const server = spans
      .filter((s) => s.kind === SpanKind.SERVER)
      .find((s) => String(s.attributes['url.path'] ?? s.attributes['http.target']).endsWith('/items/42'));
    expect(server).toBeDefined();
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const inRequest = lines.filter((l) => l['msg'] === 'reading item' && l['id'] === '42');
    const read = lines.filter((l) => l['msg'] === 'item read' && l['trace_id'] === server?.traceId);
    expect(inRequest).toHaveLength(1);
    expect(inRequest[0]?.['trace_id']).toBe(server?.traceId);
    expect(inRequest[0]?.['span_id']).toMatch(/^[0-9a-f]{16}$/);
    expect(read).toHaveLength(1);
    // Outside any request there is no trace id.
    expect(lines.find((l) => l['msg'] === 'config loaded')?.['trace_id']).toBeUndefined();
  });

  it('never writes secrets from config or errors to the log', async () => {
    await fetch(`${base}/fail`);
    const log = readFileSync(logFile, 'utf8');
    const dbPassword = new URL(postgres.url).password;
    expect(dbPassword.length).toBeGreaterThan(4);
    expect(log).toContain('config loaded');
    expect(log).toContain('dependency failed');
    for (const secret of [
      dbPassword,
      'redis-secret-pw',
      'jwt-secret-value',
      'c2lnbmF0dXJl',
      'eyJzdWIiOiJ1In0',
    ]) {
      expect(log, `log leaks ${secret.slice(0, 3)}…`).not.toContain(secret);
    }
    // What stays is what helps debugging: hosts, the shape of the URL.
    expect(log).toContain(`postgres://***@127.0.0.1:${new URL(postgres.url).port}`);
  });

  it('a query that waited for a pooled connection is traced in its own request, not in the one that freed it', async () => {
    const sampledTrace = '5b8efff798038103d269b633813fc60c';
    const call = (id: number, flags: string, traceId: string) =>
      fetch(`${base}/slow-items/${id}`, {
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-${flags}` },
      }).then((r) => r.text());
    // The sampled request takes a connection first; 11 unsampled ones queue for the other 3 and for
    // the one it frees. A waiter resumed from its release must not run (and be traced) in its context.
    const first = call(1000, '01', sampledTrace);
    await sleep(10);
    await Promise.all([
      first,
      ...Array.from({ length: 11 }, (_, i) =>
        call(1001 + i, '00', `${'0'.repeat(30)}${String(i).padStart(2, '0')}`),
      ),
    ]);
    const spans = await waitFor('the sampled request', async () => {
      const all = await api.spans();
      return all.some((s) => s.traceId === sampledTrace && s.kind === SpanKind.SERVER) ? all : undefined;
    });
    const inTrace = spans.filter((s) => s.traceId === sampledTrace);
    const server = inTrace.find((s) => s.kind === SpanKind.SERVER);
    const queries = inTrace.filter((s) => s.name.startsWith('pg.query'));
    expect(queries).toHaveLength(1);
    expect(queries[0]?.parentSpanId).toBe(server?.spanId);
  });

  it('carries the trace from the request through a Postgres job row to a consumer span in the worker process', async () => {
    const response = await fetch(`${base}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"demo"}',
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: number };
    await waitFor('job done', async () => {
      const rows = await postgres.sql<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [id]);
      return rows[0]?.status === 'succeeded' ? true : undefined;
    });

    const apiSpans = await api.spans();
    const workerSpans = await waitFor('job span', async () => {
      const all = await worker.spans();
      return all.some((s) => s.name === 'job demo') ? all : undefined;
    });
    const request = apiSpans.find(
      (s) => s.kind === SpanKind.SERVER && s.attributes['http.route'] === '/jobs',
    );
    const job = workerSpans.find((s) => s.name === 'job demo' && s.attributes['tether.job.id'] === id);
    expect(request).toBeDefined();
    expect(job?.kind).toBe(SpanKind.CONSUMER);
    expect(job?.traceId).toBe(request?.traceId);
    // Its parent is a span of the request (the handler that enqueued), in the other process.
    const parent = apiSpans.find((s) => s.spanId === job?.parentSpanId);
    expect(parent?.traceId).toBe(request?.traceId);
    expect(ancestry(parent as PlainSpan, apiSpans).at(-1)?.spanId).toBe(request?.spanId);
    // The job's own query is a child of the job span.
    const update = workerSpans.find((s) => s.parentSpanId === job?.spanId && s.name.startsWith('pg.query'));
    expect(update?.name).toMatch(/^pg\.query/);
    // The poll query ran outside any span: no root pg spans (requireParentSpan).
    expect(workerSpans.filter((s) => s.scope.includes('instrumentation-pg') && !s.parentSpanId)).toHaveLength(
      0,
    );
  });
});

describe('start-up shapes on Node 24 ESM (the #1 pitfall: instrumentations patch modules as they load)', () => {
  async function routeSpans(app: App): Promise<PlainSpan[]> {
    const response = await fetch(`http://127.0.0.1:${app.ready['port']}/items/1`);
    expect(response.status).toBe(200);
    return waitFor('pg span', async () => {
      const all = await app.spans();
      return all.some((s) => s.name.startsWith('pg.query')) ? all : undefined;
    });
  }

  it('node --import @tether/telemetry/register + static imports: express is instrumented', async () => {
    const app = await forkApp(
      'api-app.ts',
      {
        DATABASE_URL: postgres.url,
        SPAN_EXPORT: 'memory',
        SERVICE_NAME: 'api-register',
        EXPRESS_SPANS: 'on',
      },
      {
        execArgv: ['--import', '@tether/telemetry/register'],
      },
    );
    try {
      const spans = await routeSpans(app);
      expect(spans.some((s) => s.scope.includes('instrumentation-express'))).toBe(true);
      expect(spans.find((s) => s.kind === SpanKind.SERVER)?.attributes['http.route']).toBe('/items/:id');
    } finally {
      await app.stop();
    }
  });

  it('CONTROL: static imports without the hook flag lose every express span (the server span keeps its route)', async () => {
    const app = await forkApp('api-app.ts', {
      DATABASE_URL: postgres.url,
      SPAN_EXPORT: 'memory',
      SERVICE_NAME: 'api-naive',
      EXPRESS_SPANS: 'on',
    });
    try {
      const spans = await routeSpans(app);
      expect(spans.some((s) => s.scope.includes('instrumentation-express'))).toBe(false);
      // diagnostics_channel needs no module patching: http.route survives the wrong start-up shape.
      expect(spans.find((s) => s.kind === SpanKind.SERVER)?.attributes['http.route']).toBe('/items/:id');
    } finally {
      await app.stop();
    }
  });
});
