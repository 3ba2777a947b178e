/**
 * Runnable example: `node --conditions=@tether/source libs/pooling/examples/orders.ts`
 * Uses DATABASE_URL / REDIS_URL when set, else starts an ephemeral Postgres and Redis.
 */
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { createPgPool, createRedis } from '../src/index.ts';

const postgres = process.env['DATABASE_URL'] ? undefined : await EphemeralPostgres.start();
const redisServer = process.env['REDIS_URL'] ? undefined : await EphemeralRedis.start();

const db = createPgPool({
  connectionString: process.env['DATABASE_URL'] ?? postgres?.url,
  applicationName: 'orders-example',
});
const cache = createRedis({ url: process.env['REDIS_URL'] ?? redisServer?.url });

try {
  await db.query(
    'CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer text NOT NULL, total_cents int NOT NULL)',
  );

  // A whole transaction with no side effects outside the database (idempotent: true): re-run from
  // BEGIN on a serialization failure or deadlock. COMMIT is checked.
  const id = await db.transaction(
    async (client) => {
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO orders (customer, total_cents) VALUES ($1, $2) RETURNING id',
        ['ada', 4200],
      );
      return rows[0]?.id;
    },
    { isolationLevel: 'serializable', idempotent: true },
  );

  // A read: retried on transient failures (it is a SELECT), bounded by a deadline.
  const { rows } = await db.query<{ total: number }>(
    'SELECT sum(total_cents)::int AS total FROM orders WHERE customer = $1',
    ['ada'],
    { deadlineMs: 2_000 },
  );

  // Redis: SET with a value is idempotent, so it may be retried after a dropped connection.
  await cache.execute((c) => c.set(`order:${id}`, JSON.stringify({ customer: 'ada' }), 'EX', 60), {
    idempotent: true,
  });
  const cached = await cache.execute((c) => c.get(`order:${id}`), { idempotent: true });

  console.log({ id, totalCents: rows[0]?.total, cached });
} finally {
  // What a shutdown hook does: refuse new work, let in-flight work finish, close.
  await db.drain(5_000);
  await cache.drain(5_000);
  await postgres?.close();
  await redisServer?.close();
}
