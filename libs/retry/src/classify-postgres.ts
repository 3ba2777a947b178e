import {
  type Classification,
  messageOf,
  permanent,
  stringProp,
  transient,
  unknown,
} from './classification.ts';

// SQLSTATEs from the Postgres manual, appendix A. Everything not listed is a statement-level error
// (syntax, constraint, data) that will fail the same way again, hence permanent by default.
const SQLSTATES = new Map<string, (code: string) => Classification>([
  ['57P01', (c) => transient('idempotent', '57P01 admin_shutdown', c)],
  ['57P02', (c) => transient('idempotent', '57P02 crash_shutdown', c)],
  // Raised while the server starts or recovers, before any statement runs.
  ['57P03', (c) => transient('always', '57P03 cannot_connect_now', c)],
  // The session was idle when the server closed it: nothing was running.
  ['57P05', (c) => transient('always', '57P05 idle_session_timeout', c)],
  // A cancel (statement_timeout or pg_cancel_backend): asking again rarely helps, the caller decides.
  ['57014', (c) => unknown('57014 query_canceled', c)],
  ['53300', (c) => transient('always', '53300 too_many_connections', c)],
  // After a failover the old primary (or a replica) rejects writes; the statement did nothing.
  ['25006', (c) => transient('always', '25006 read_only_sql_transaction', c)],
  [
    '40001',
    (c) => ({
      kind: 'transient',
      safety: 'never',
      retryTransaction: true,
      reason: '40001 serialization_failure',
      code: c,
    }),
  ],
  [
    '40P01',
    (c) => ({
      kind: 'transient',
      safety: 'never',
      retryTransaction: true,
      reason: '40P01 deadlock_detected',
      code: c,
    }),
  ],
  ['08001', (c) => transient('always', '08001 sqlclient_unable_to_establish_sqlconnection', c)],
  ['08004', (c) => transient('always', '08004 sqlserver_rejected_establishment_of_sqlconnection', c)],
  // The commit may or may not have happened: retrying could apply it twice.
  ['08007', (c) => transient('never', '08007 transaction_resolution_unknown', c)],
  // A protocol violation is a driver or proxy bug, not a network blip.
  ['08P01', (c) => permanent('08P01 protocol_violation', c)],
]);

/**
 * node-postgres and pg-pool raise these without a code (see pg/lib/client.js, pg-pool/index.js).
 * Matched on the exact message: they are stable across pg 8.x.
 */
const PG_MESSAGES = new Map<string, Classification>([
  ['Connection terminated unexpectedly', transient('idempotent', 'pg connection terminated unexpectedly')],
  // pg-pool gave up connecting: no query was sent.
  ['Connection terminated due to connection timeout', transient('always', 'pg connect timeout')],
  // pg.Client's own connectionTimeoutMillis (it destroys the socket with this error).
  ['timeout expired', transient('always', 'pg connect timeout')],
  ['timeout exceeded when trying to connect', transient('always', 'pg pool checkout timeout')],
  ['Query read timeout', transient('idempotent', 'pg query_timeout')],
  // The client refuses the query before sending it because its socket already failed.
  [
    'Client has encountered a connection error and is not queryable',
    transient('always', 'pg client not queryable'),
  ],
  // The application ended the client itself.
  ['Connection terminated', permanent('pg connection ended by the application')],
  ['Client was closed and is not queryable', permanent('pg client closed by the application')],
  ['Cannot use a pool after calling end on the pool', permanent('pg pool ended by the application')],
]);

/** A Postgres server error (pg's DatabaseError): a 5-character SQLSTATE plus a `severity`. */
function sqlstateOf(error: unknown): string | undefined {
  const code = stringProp(error, 'code');
  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  // EPIPE is five capitals too; only server errors carry a severity.
  return stringProp(error, 'severity') !== undefined ? code : undefined;
}

export function classifyPostgres(error: unknown): Classification | undefined {
  const code = sqlstateOf(error);
  if (code !== undefined) {
    const rule = SQLSTATES.get(code);
    if (rule) return rule(code);
    if (code.startsWith('08')) return transient('idempotent', `${code} connection_exception`, code);
    return permanent(`${code} sqlstate`, code);
  }
  if (stringProp(error, 'code') !== undefined) return undefined;
  return PG_MESSAGES.get(messageOf(error));
}
