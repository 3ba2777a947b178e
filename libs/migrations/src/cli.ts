#!/usr/bin/env node
/**
 * `tether-migrate [up|down] [count]` with DATABASE_URL: the migration step of `npm start` and of
 * the Helm chart's migration Job. Exit 0 when the schema is current.
 */
import { migrate } from './migrate.ts';

const [direction = 'up', countArg] = process.argv.slice(2);
const databaseUrl = process.env.DATABASE_URL;
if (direction !== 'up' && direction !== 'down') {
  console.error(`tether-migrate: unknown direction "${direction}"; use up or down`);
  process.exit(2);
}
const count = countArg === undefined ? undefined : Number(countArg);
if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
  console.error(`tether-migrate: count must be a positive integer, got "${countArg}"`);
  process.exit(2);
}
if (!databaseUrl) {
  console.error('tether-migrate: DATABASE_URL is not set');
  process.exit(2);
}
try {
  const { applied } = await migrate({ databaseUrl, direction, ...(count === undefined ? {} : { count }) });
  console.log(
    applied.length
      ? `${direction === 'up' ? 'applied' : 'reverted'}: ${applied.join(', ')}`
      : 'schema is current',
  );
} catch (error) {
  // pg errors can quote the connection string's host and user but never the password; keep the message short.
  console.error(`tether-migrate: ${(error as Error).message}`);
  process.exit(1);
}
