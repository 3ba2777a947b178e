import { describe, expect, it } from 'vitest';
import { isReadOnlyStatement } from '../src/index.ts';

describe('isReadOnlyStatement (what query() retries without an idempotent flag)', () => {
  it.each([
    ['SELECT * FROM jobs WHERE id = $1', true],
    ['  -- lookup\n select 1', true],
    ['/* c */ WITH x AS (SELECT 1) SELECT * FROM x', true],
    ['SELECT 1;', true],
    ['EXPLAIN SELECT 1', true],
    ['SHOW statement_timeout', true],
    ['VALUES (1), (2)', true],
    ['TABLE jobs', true],
    ['SELECT currval($1)', true],
    ['WITH x AS (DELETE FROM jobs RETURNING *) SELECT * FROM x', false],
    ['SELECT * INTO archive FROM jobs', false],
    ['EXPLAIN ANALYZE DELETE FROM jobs', false],
    ['INSERT INTO jobs DEFAULT VALUES', false],
    ['UPDATE jobs SET status = $1', false],
    // Several statements in one text: the second one can be anything.
    ['SELECT 1; DELETE FROM jobs', false],
    ['select 1 ;insert into jobs default values', false],
    // Row locks.
    ['SELECT * FROM jobs WHERE id = $1 FOR UPDATE', false],
    ['SELECT * FROM jobs FOR NO KEY UPDATE SKIP LOCKED', false],
    ['SELECT * FROM jobs FOR SHARE', false],
    ['select * from jobs for key share', false],
    // Functions with effects.
    ["SELECT nextval('jobs_id_seq')", false],
    ["SELECT setval('jobs_id_seq', 10)", false],
    ["SELECT pg_notify('jobs', 'x')", false],
    ['SELECT pg_advisory_lock(42)', false],
    ['SELECT pg_try_advisory_xact_lock(42)', false],
    ['SELECT pg_advisory_unlock_all()', false],
    ["SELECT set_config('search_path', 'x', false)", false],
    ['SELECT pg_terminate_backend(123)', false],
    ['WITH n AS (SELECT nextval($1) AS id) SELECT id FROM n', false],
  ] as const)('%s -> %s', (sql, expected) => {
    expect(isReadOnlyStatement(sql)).toBe(expected);
  });
});
