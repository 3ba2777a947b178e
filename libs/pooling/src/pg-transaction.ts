import type { AttemptRecord } from '@tether/retry';
import { CommitOutcomeUnknownError, TransactionRolledBackError } from './errors.ts';
import { attemptClient, type PgQueryClient, type StatementLog } from './pg-attempt-client.ts';
import type { TetherClient } from './pg-client.ts';
import { isConnectionBroken } from './pg-fatal.ts';

/** Per call: whether a COMMIT is on the wire (a deadline now means "outcome unknown"). */
export interface CommitWatch {
  inFlight: boolean;
}

export interface TransactionHooks {
  /** ROLLBACK after a failure (evicts the connection if even that fails). */
  rollback(client: TetherClient, cause: unknown): Promise<void>;
  /** Take the connection out of service. */
  evictBroken(client: TetherClient, error: unknown): void;
}

/**
 * One attempt of `transaction()`: BEGIN, the callback, then COMMIT — checked. Postgres answers
 * COMMIT inside a failed transaction (a statement failed and the callback caught it) with the tag
 * ROLLBACK and no error; node-postgres resolves. Here that is a TransactionRolledBackError whose
 * cause is the statement error, and a connection lost during COMMIT is a CommitOutcomeUnknownError.
 */
export async function runTransaction<T>(
  client: TetherClient,
  sent: AttemptRecord,
  begin: string,
  fn: (client: PgQueryClient) => Promise<T>,
  commit: CommitWatch,
  hooks: TransactionHooks,
): Promise<T> {
  const log: StatementLog = { lastError: undefined };
  const tx = attemptClient(client, sent, log);
  await tx.query(begin);
  let result: T;
  try {
    result = await fn(tx);
  } catch (error) {
    await hooks.rollback(client, error);
    throw error;
  }
  if (client.getTransactionStatus() === 'E') {
    // Don't even send COMMIT: its answer would be ROLLBACK.
    await hooks.rollback(client, log.lastError);
    throw new TransactionRolledBackError(log.lastError);
  }
  commit.inFlight = true;
  let tag: string;
  try {
    tag = (await client.query('COMMIT')).command;
  } catch (error) {
    commit.inFlight = false;
    if (!isConnectionBroken(error)) throw error;
    hooks.evictBroken(client, error);
    throw new CommitOutcomeUnknownError(error);
  }
  commit.inFlight = false;
  if (tag === 'ROLLBACK') throw new TransactionRolledBackError(log.lastError);
  return result;
}
