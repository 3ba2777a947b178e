import { type Classification, messageOf, stringProp, transient, unknown } from './classification.ts';

/**
 * PgBouncer reports most of its own failures as SQLSTATE 08P01 (protocol_violation), which for a
 * plain Postgres means a driver bug and is permanent. Behind PgBouncer the message says what happened
 * (messages from PgBouncer 1.18-1.24 `disconnect_client()` calls; matched exactly or by prefix).
 */
const MESSAGES: [text: string, rule: (code: string) => Classification][] = [
  // The server connection died under the client's query or transaction: it may have run.
  ['server conn crashed?', (c) => transient('idempotent', 'pgbouncer server conn crashed', c)],
  ['query_timeout', (c) => transient('idempotent', 'pgbouncer query_timeout', c)],
  // The client waited for a server connection and never got one: nothing reached Postgres.
  ['query_wait_timeout', (c) => transient('always', 'pgbouncer query_wait_timeout', c)],
  ['no more connections allowed', (c) => transient('always', 'pgbouncer max_client_conn', c)],
  ['server login has been failing', (c) => transient('always', 'pgbouncer server_login_retry', c)],
  ['client_login_timeout', (c) => transient('always', 'pgbouncer client_login_timeout', c)],
  ['pgbouncer cannot connect to server', (c) => transient('always', 'pgbouncer cannot connect', c)],
  // The client sat idle; PgBouncer closed it.
  ['client_idle_timeout', (c) => transient('always', 'pgbouncer client_idle_timeout', c)],
  // The transaction was rolled back because the client held it idle: the caller's bug, not a blip.
  ['idle transaction timeout', (c) => unknown('pgbouncer idle transaction timeout', c)],
];

/**
 * Classifies PgBouncer's own 08P01 errors by message; `undefined` for anything else (then the
 * ordinary `classify()` applies). Use it in front of `classify()` for a pool behind PgBouncer.
 */
export function classifyPgBouncer(error: unknown): Classification | undefined {
  if (stringProp(error, 'code') !== '08P01' || stringProp(error, 'severity') === undefined) return undefined;
  const message = messageOf(error);
  const match = MESSAGES.find(([text]) => message === text || message.startsWith(text));
  return match?.[1]('08P01');
}
