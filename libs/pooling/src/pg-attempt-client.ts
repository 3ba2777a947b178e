import { type AttemptRecord, trackCommand } from '@tether/retry';
import type pg from 'pg';

/** What `withClient()` / `transaction()` callbacks get: query on one connection; releasing is ours. */
export type PgQueryClient = Pick<
  pg.PoolClient,
  'query' | 'escapeIdentifier' | 'escapeLiteral' | 'getTransactionStatus'
>;

/** What the callback's statements did during one attempt. */
export interface StatementLog {
  /** The last statement error (the one that put a transaction in the failed state). */
  lastError: unknown;
}

type AnyQuery = (...args: unknown[]) => unknown;

/**
 * The client a callback gets for one attempt: every statement is recorded in the attempt's
 * `AttemptRecord` (@tether/retry), so that once one was sent, a later "not sent" error no longer
 * makes re-running the callback look safe. Promise, callback and submittable (cursor) forms of
 * `query` all count.
 */
export function attemptClient(client: pg.PoolClient, sent: AttemptRecord, log: StatementLog): PgQueryClient {
  const raw = client.query.bind(client) as AnyQuery;
  const query: AnyQuery = (...args) => {
    const first = args[0] as { submit?: unknown } | undefined;
    if (typeof first === 'object' && first !== null && typeof first.submit === 'function') {
      // A cursor or stream: pg sends it when it likes; count it as sent.
      sent.commandSent();
      return raw(...args);
    }
    const last = args.at(-1);
    if (typeof last === 'function') {
      const callback = last as (error: Error | null, result?: unknown) => void;
      trackCommand(sent, () => raw(...args.slice(0, -1)) as Promise<unknown>).then(
        (result) => callback(null, result),
        (error: Error) => {
          log.lastError = error;
          callback(error);
        },
      );
      return undefined;
    }
    return trackCommand(sent, () => raw(...args) as Promise<unknown>).catch((error: unknown) => {
      log.lastError = error;
      throw error;
    });
  };
  return {
    query: query as PgQueryClient['query'],
    escapeIdentifier: (text) => client.escapeIdentifier(text),
    escapeLiteral: (text) => client.escapeLiteral(text),
    getTransactionStatus: () => client.getTransactionStatus(),
  };
}
