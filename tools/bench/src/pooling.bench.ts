/**
 * @tether/pooling against the raw drivers, same run, same servers: what do validation on checkout,
 * retries, deadlines, eviction bookkeeping and metrics cost on the hot path?
 *
 * - Postgres `SELECT 1` (also with a 3 s deadline, the jobs API's, shorter than the connect
 *   timeout) and an indexed lookup (10 newest rows of one owner out of 100k): raw
 *   `new pg.Pool({ max: 10 })` vs `createPgPool({ max: 10 })`.
 * - Redis GET and SET: raw `new Redis(url)` vs `createRedis()` + `execute()`.
 *
 * Each scenario runs at saturation (a fixed number of callers looping) and at a fixed arrival rate
 * (open loop; latency counted from the scheduled start, so queueing is not hidden). Baseline and
 * candidate alternate in short rounds so drift on a shared machine hits both alike.
 *
 * Run: `npm run bench -- pooling` (or `node --conditions=@tether/source tools/bench/src/pooling.bench.ts`).
 */
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { createPgPool, createRedis } from '@tether/pooling';
import { Redis } from 'ioredis';
import pg from 'pg';
import { emptyTally as empty, fixedRate, measurement, type Op, saturate, type Tally } from './load.ts';
import { benchScale, type Comparison, writeReport } from './report.ts';

// BENCH_SCALE=quick (the test that runs every benchmark inside `npm test`): every row, tiny sizes.
const quick = benchScale() === 'quick';
const ROUND_MS = quick ? 100 : 600;
const ROUNDS = quick ? 1 : 6;
const WARMUP_MS = quick ? 50 : 500;
const ROWS = quick ? 2_000 : 100_000;
const PG_CALLERS = 16;
const REDIS_CALLERS = 32;
const PG_RATE = 800;
const REDIS_RATE = 2_000;
const OWNERS = 1_000;

async function compare(
  scenario: string,
  baseline: Op,
  candidate: Op,
  run: (op: Op, durationMs: number, tally: Tally) => Promise<void>,
): Promise<Comparison> {
  await run(baseline, WARMUP_MS, empty());
  await run(candidate, WARMUP_MS, empty());
  const b = empty();
  const c = empty();
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first so neither always gets the warmer (or the noisier) slot.
    const order: [Op, Tally][] =
      round % 2 === 0
        ? [
            [baseline, b],
            [candidate, c],
          ]
        : [
            [candidate, c],
            [baseline, b],
          ];
    for (const [op, tally] of order) await run(op, ROUND_MS, tally);
  }
  process.stdout.write(`  ${scenario}: done\n`);
  return {
    scenario,
    baseline: measurement(b),
    candidate: measurement(c),
    throughputGoal: 0.95,
    p99Goal: 1.1,
  };
}

const postgres = await EphemeralPostgres.start();
const redisServer = await EphemeralRedis.start();
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const rawPool = new pg.Pool({ connectionString: postgres.url, max: 10 });
rawPool.on('error', () => {});
const tetherPool = createPgPool({ connectionString: postgres.url, max: 10, logger: silent });
const rawRedis = new Redis(redisServer.url);
const tetherRedis = createRedis({ url: redisServer.url, logger: silent });

try {
  await tetherPool.query(
    `CREATE TABLE items (id bigserial PRIMARY KEY, owner int NOT NULL, created_at timestamptz NOT NULL, payload text NOT NULL)`,
  );
  await tetherPool.query(
    `INSERT INTO items (owner, created_at, payload)
     SELECT (random() * ${OWNERS - 1})::int, now() - random() * interval '30 days', md5(g::text) FROM generate_series(1, ${ROWS}) g`,
  );
  await tetherPool.query('CREATE INDEX items_owner_created ON items (owner, created_at DESC)');
  await tetherPool.query('ANALYZE items');
  await rawRedis.set('bench:key', 'x'.repeat(100));

  let n = 0;
  const owner = () => [n++ % OWNERS];
  const indexed =
    'SELECT id, payload, created_at FROM items WHERE owner = $1 ORDER BY created_at DESC LIMIT 10';
  const sat = (callers: number) => (op: Op, ms: number, t: Tally) => saturate(op, callers, ms, t);
  const rate = (perSecond: number) => (op: Op, ms: number, t: Tally) => fixedRate(op, perSecond, ms, t);

  process.stdout.write('pooling benchmark (about 90 s)\n');
  const comparisons: Comparison[] = [];
  // A/A: the raw driver against itself shows how much of any difference is this machine's noise.
  comparisons.push(
    await compare(
      `A/A noise floor: pg SELECT 1 raw vs raw, saturated`,
      () => rawPool.query('SELECT 1'),
      () => rawPool.query('SELECT 1'),
      sat(PG_CALLERS),
    ),
  );
  comparisons.push(
    await compare(
      `pg SELECT 1, saturated (${PG_CALLERS} callers)`,
      () => rawPool.query('SELECT 1'),
      () => tetherPool.query('SELECT 1'),
      sat(PG_CALLERS),
    ),
  );
  comparisons.push(
    await compare(
      `pg SELECT 1 with a 3 s deadline (the jobs API's), saturated (${PG_CALLERS} callers)`,
      () => rawPool.query('SELECT 1'),
      () => tetherPool.query('SELECT 1', undefined, { deadlineMs: 3_000 }),
      sat(PG_CALLERS),
    ),
  );
  comparisons.push(
    await compare(
      `pg indexed query, saturated (${PG_CALLERS} callers)`,
      () => rawPool.query(indexed, owner()),
      () => tetherPool.query(indexed, owner()),
      sat(PG_CALLERS),
    ),
  );
  comparisons.push(
    await compare(
      `pg SELECT 1, ${PG_RATE}/s`,
      () => rawPool.query('SELECT 1'),
      () => tetherPool.query('SELECT 1'),
      rate(PG_RATE),
    ),
  );
  comparisons.push(
    await compare(
      `pg indexed query, ${PG_RATE}/s`,
      () => rawPool.query(indexed, owner()),
      () => tetherPool.query(indexed, owner()),
      rate(PG_RATE),
    ),
  );
  const get = (c: Redis) => c.get('bench:key');
  const set = (c: Redis) => c.set('bench:key', 'x'.repeat(100));
  const tGet = () => tetherRedis.execute((c) => c.get('bench:key'), { idempotent: true });
  const tSet = () => tetherRedis.execute((c) => c.set('bench:key', 'x'.repeat(100)), { idempotent: true });
  comparisons.push(
    await compare(
      `redis GET, saturated (${REDIS_CALLERS} callers)`,
      () => get(rawRedis),
      tGet,
      sat(REDIS_CALLERS),
    ),
  );
  comparisons.push(
    await compare(
      `redis SET, saturated (${REDIS_CALLERS} callers)`,
      () => set(rawRedis),
      tSet,
      sat(REDIS_CALLERS),
    ),
  );
  comparisons.push(await compare(`redis GET, ${REDIS_RATE}/s`, () => get(rawRedis), tGet, rate(REDIS_RATE)));
  comparisons.push(await compare(`redis SET, ${REDIS_RATE}/s`, () => set(rawRedis), tSet, rate(REDIS_RATE)));
  comparisons.push(
    await compare(
      `A/A noise floor: redis GET raw vs raw, ${REDIS_RATE}/s`,
      () => get(rawRedis),
      () => get(rawRedis),
      rate(REDIS_RATE),
    ),
  );

  writeReport({
    name: 'pooling',
    baselineLabel: 'raw',
    candidateLabel: 'tether',
    comparisons,
    environment: {
      scale: benchScale(),
      roundMs: ROUND_MS,
      rounds: ROUNDS,
      pgCallers: PG_CALLERS,
      redisCallers: REDIS_CALLERS,
      pgRate: PG_RATE,
      redisRate: REDIS_RATE,
      poolMax: 10,
      note: 'no OpenTelemetry SDK registered: instruments are the API no-ops, as in an app without telemetry',
    },
  });
} finally {
  await tetherPool.drain(2_000);
  await rawPool.end();
  await tetherRedis.drain(2_000);
  rawRedis.disconnect();
  await postgres.close();
  await redisServer.close();
}
