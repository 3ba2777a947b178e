import type { EphemeralPostgres } from '@tether/devstack';
import { classify } from '@tether/retry';
import { expect } from 'vitest';

/** What the callers of a series of INSERTs saw, by id. */
export interface InsertOutcomes {
  ok: number[];
  /** Errors classified "nothing was sent": the row must be absent. */
  notSent: number[];
  /** Any other error: the INSERT may or may not have run. */
  unknown: number[];
}

/**
 * A table for non-idempotent INSERTs with a unique id each but no unique constraint: a write
 * applied twice shows up as two rows, instead of hiding behind a 23505 its caller may never see.
 */
export async function createInsertTable(server: EphemeralPostgres, table: string): Promise<void> {
  await server.sql(`CREATE TABLE ${table} (id bigint NOT NULL)`);
  await server.sql(`ALTER TABLE ${table} OWNER TO ${server.user}`);
}

/** Records each INSERT's outcome by what its caller saw. */
export class InsertLedger {
  readonly outcomes: InsertOutcomes = { ok: [], notSent: [], unknown: [] };
  private next: number;

  constructor(firstId = 0) {
    this.next = firstId;
  }

  /** Runs `insert` with a fresh id; never rejects (the outcome is recorded instead). */
  async write(insert: (id: number) => Promise<unknown>): Promise<void> {
    const id = this.next++;
    try {
      await insert(id);
      this.outcomes.ok.push(id);
    } catch (error) {
      (classify(error).safety === 'always' ? this.outcomes.notSent : this.outcomes.unknown).push(id);
    }
  }
}

/**
 * Reads the table back and checks every write: a success is there exactly once, a "nothing was
 * sent" failure is absent, an outcome-unknown failure is there at most once (counted apart), and
 * no id is there twice — including ids no caller recorded.
 */
export async function reconcileInserts(
  server: EphemeralPostgres,
  table: string,
  outcomes: InsertOutcomes,
): Promise<{ ok: number; notSent: number; unknown: number; unknownApplied: number; rows: number }> {
  const rows = await server.sql<{ id: string; n: number }>(
    `SELECT id::text, count(*)::int AS n FROM ${table} GROUP BY id`,
  );
  const applied = new Map(rows.map((r) => [Number(r.id), r.n]));
  expect(
    rows.filter((r) => r.n > 1).map((r) => r.id),
    'ids applied more than once',
  ).toEqual([]);
  expect(
    outcomes.ok.filter((id) => applied.get(id) !== 1),
    'succeeded but not there',
  ).toEqual([]);
  expect(
    outcomes.notSent.filter((id) => applied.has(id)),
    '"nothing was sent", yet applied',
  ).toEqual([]);
  const unknownApplied = outcomes.unknown.filter((id) => applied.has(id)).length;
  // Rows present == successes + the outcome-unknown writes that landed: nothing else got in.
  expect(rows.length).toBe(outcomes.ok.length + unknownApplied);
  return {
    ok: outcomes.ok.length,
    notSent: outcomes.notSent.length,
    unknown: outcomes.unknown.length,
    unknownApplied,
    rows: rows.length,
  };
}
