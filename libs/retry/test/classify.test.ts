import { describe, expect, it } from 'vitest';
import {
  BreakerOpenError,
  DeadlineExceededError,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
  TetherError,
  classify,
  parseRetryAfter,
  type Classification,
} from '../src/index.ts';

// The rows the real-error tests cannot produce cheaply (a crash restart, a cluster), as the drivers shape them.

/** pg's DatabaseError: a SQLSTATE `code` plus a `severity`. */
function pgError(code: string, message = 'server error'): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL', routine: 'test' });
}

function errno(code: string, syscall?: string): Error {
  return Object.assign(new Error(`${syscall ?? 'read'} ${code}`), {
    code,
    errno: -1,
    ...(syscall ? { syscall } : {}),
  });
}

/** ioredis' ReplyError (redis-errors): the name comes from the class. */
class ReplyError extends Error {
  override get name() {
    return 'ReplyError';
  }
}

type Row = [label: string, error: unknown, expected: Partial<Classification>];

const table: Row[] = [
  ['57P01 admin_shutdown', pgError('57P01'), { kind: 'transient', safety: 'idempotent' }],
  ['57P02 crash_shutdown', pgError('57P02'), { kind: 'transient', safety: 'idempotent' }],
  ['57P03 cannot_connect_now', pgError('57P03'), { kind: 'transient', safety: 'always' }],
  ['57P05 idle_session_timeout', pgError('57P05'), { kind: 'transient', safety: 'always' }],
  ['08000 connection_exception', pgError('08000'), { kind: 'transient', safety: 'idempotent' }],
  ['08001 unable to establish', pgError('08001'), { kind: 'transient', safety: 'always' }],
  ['08003 connection_does_not_exist', pgError('08003'), { kind: 'transient', safety: 'idempotent' }],
  ['08006 connection_failure', pgError('08006'), { kind: 'transient', safety: 'idempotent' }],
  [
    '08007 transaction_resolution_unknown',
    pgError('08007'),
    { kind: 'transient', safety: 'never', retryTransaction: false },
  ],
  ['08P01 protocol_violation', pgError('08P01'), { kind: 'permanent', safety: 'never' }],
  ['53300 too_many_connections', pgError('53300'), { kind: 'transient', safety: 'always' }],
  ['25006 read_only_sql_transaction', pgError('25006'), { kind: 'transient', safety: 'always' }],
  [
    '40001 serialization_failure',
    pgError('40001'),
    { kind: 'transient', safety: 'never', retryTransaction: true },
  ],
  [
    '40P01 deadlock_detected',
    pgError('40P01'),
    { kind: 'transient', safety: 'never', retryTransaction: true },
  ],
  ['23505 unique_violation', pgError('23505'), { kind: 'permanent', safety: 'never' }],
  [
    'pg Connection terminated unexpectedly',
    new Error('Connection terminated unexpectedly'),
    { kind: 'transient', safety: 'idempotent' },
  ],
  [
    'pg-pool connect timeout',
    new Error('Connection terminated due to connection timeout'),
    { kind: 'transient', safety: 'always' },
  ],
  [
    'pg-pool checkout timeout',
    new Error('timeout exceeded when trying to connect'),
    { kind: 'transient', safety: 'always' },
  ],
  ['pg Query read timeout', new Error('Query read timeout'), { kind: 'transient', safety: 'idempotent' }],
  [
    'pg not queryable',
    new Error('Client has encountered a connection error and is not queryable'),
    { kind: 'transient', safety: 'always' },
  ],
  ['pg Connection terminated (client.end)', new Error('Connection terminated'), { kind: 'permanent' }],
  ['ECONNRESET', errno('ECONNRESET', 'read'), { kind: 'transient', safety: 'idempotent' }],
  ['ECONNREFUSED', errno('ECONNREFUSED', 'connect'), { kind: 'transient', safety: 'always' }],
  ['ETIMEDOUT on connect', errno('ETIMEDOUT', 'connect'), { kind: 'transient', safety: 'always' }],
  ['ETIMEDOUT on read', errno('ETIMEDOUT', 'read'), { kind: 'transient', safety: 'idempotent' }],
  ['EPIPE', errno('EPIPE', 'write'), { kind: 'transient', safety: 'idempotent' }],
  ['EHOSTUNREACH on connect', errno('EHOSTUNREACH', 'connect'), { kind: 'transient', safety: 'always' }],
  ['ENOTFOUND', errno('ENOTFOUND', 'getaddrinfo'), { kind: 'transient', safety: 'always' }],
  ['EAI_AGAIN', errno('EAI_AGAIN', 'getaddrinfo'), { kind: 'transient', safety: 'always' }],
  ['ENOENT is not a network failure', errno('ENOENT', 'open'), { kind: 'unknown', safety: 'never' }],
  ['undici connect timeout', errno('UND_ERR_CONNECT_TIMEOUT'), { kind: 'transient', safety: 'always' }],
  [
    'ioredis Connection is closed.',
    new Error('Connection is closed.'),
    { kind: 'transient', safety: 'idempotent' },
  ],
  [
    'READONLY',
    new ReplyError("READONLY You can't write against a read only replica."),
    { kind: 'transient', safety: 'always' },
  ],
  [
    'LOADING',
    new ReplyError('LOADING Redis is loading the dataset in memory'),
    { kind: 'transient', safety: 'always' },
  ],
  [
    'TRYAGAIN',
    new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'),
    { kind: 'transient', safety: 'always' },
  ],
  ['CLUSTERDOWN', new ReplyError('CLUSTERDOWN The cluster is down'), { kind: 'transient', safety: 'always' }],
  ['NOAUTH', new ReplyError('NOAUTH Authentication required.'), { kind: 'permanent' }],
  [
    'MaxRetriesPerRequestError',
    Object.defineProperty(new Error('Reached the max retries per request limit'), 'name', {
      value: 'MaxRetriesPerRequestError',
    }),
    { kind: 'transient', safety: 'idempotent' },
  ],
  ['HTTP 408', { status: 408 }, { kind: 'transient', safety: 'always' }],
  [
    'HTTP 429',
    { statusCode: 429, headers: { 'Retry-After': '3' } },
    { kind: 'transient', safety: 'always', retryAfterMs: 3000 },
  ],
  ['HTTP 502', { status: 502 }, { kind: 'transient', safety: 'idempotent' }],
  [
    'HTTP 503',
    { status: 503, headers: new Headers({ 'retry-after': '1' }) },
    { kind: 'transient', safety: 'idempotent', retryAfterMs: 1000 },
  ],
  ['HTTP 504', { status: 504 }, { kind: 'transient', safety: 'idempotent' }],
  ['HTTP 500', { status: 500 }, { kind: 'unknown', safety: 'never' }],
  ['HTTP 404', { status: 404 }, { kind: 'permanent', safety: 'never' }],
  [
    'AbortSignal.timeout()',
    new DOMException('The operation timed out.', 'TimeoutError'),
    { kind: 'transient', safety: 'idempotent' },
  ],
  [
    'AbortController.abort()',
    new DOMException('This operation was aborted', 'AbortError'),
    { kind: 'permanent', safety: 'never' },
  ],
  [
    'BreakerOpenError',
    new BreakerOpenError('postgres'),
    { kind: 'transient', safety: 'always', code: 'TETHER_BREAKER_OPEN' },
  ],
  [
    'RetryExhaustedError (no retry amplification)',
    new RetryExhaustedError('q', 3, new Error('x')),
    { kind: 'permanent' },
  ],
  ['DeadlineExceededError', new DeadlineExceededError('q', 100, 1, new Error('x')), { kind: 'permanent' }],
  ['RetryBudgetExhaustedError', new RetryBudgetExhaustedError('q', 1, new Error('x')), { kind: 'permanent' }],
  [
    'another lib’s retryable TetherError stating its safety',
    Object.assign(new TetherError('TETHER_POOL_CHECKOUT_TIMEOUT', 'x', { retryable: true }), {
      safety: 'always',
    }),
    { kind: 'transient', safety: 'always' },
  ],
  [
    'a non-retryable TetherError',
    new TetherError('TETHER_CONFIG_INVALID', 'x', { retryable: false }),
    { kind: 'permanent' },
  ],
  ['a plain Error', new Error('boom'), { kind: 'unknown', safety: 'never' }],
  ['a string', 'boom', { kind: 'unknown', safety: 'never' }],
  ['undefined', undefined, { kind: 'unknown', safety: 'never' }],
];

describe('classify() table', () => {
  it.each(table)('%s', (_label, error, expected) => {
    expect(classify(error)).toMatchObject(expected);
  });

  it('never treats an errno that happens to have five capitals (EPIPE) as a SQLSTATE', () => {
    expect(classify(errno('EPIPE', 'write'))).toMatchObject({ code: 'EPIPE', kind: 'transient' });
  });

  it('returns a fresh object each time', () => {
    const a = classify(new Error('Query read timeout'));
    a.kind = 'permanent';
    expect(classify(new Error('Query read timeout')).kind).toBe('transient');
  });
});

describe('classify() unwrapping', () => {
  it('follows a cause chain (fetch failed -> ECONNRESET)', () => {
    const error = new TypeError('fetch failed', { cause: errno('ECONNRESET', 'read') });
    expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent', code: 'ECONNRESET' });
  });

  it('combines AggregateError members: all transient -> transient, as safe as the least safe', () => {
    const error = new AggregateError([errno('ECONNREFUSED', 'connect'), errno('ETIMEDOUT', 'read')]);
    expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
  });

  it('an AggregateError with a permanent member is permanent', () => {
    const error = new AggregateError([errno('ECONNREFUSED', 'connect'), pgError('28P01')]);
    expect(classify(error)).toMatchObject({ kind: 'permanent', code: '28P01' });
  });

  it('survives a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classify(a)).toMatchObject({ kind: 'unknown' });
  });
});

describe('parseRetryAfter()', () => {
  const now = Date.parse('2026-11-24T06:00:00Z');
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    ['Tue, 24 Nov 2026 06:00:30 GMT', 30_000],
    ['Tue, 24 Nov 2026 05:59:00 GMT', 0],
    ['soon', undefined],
    ['1.5', undefined],
    ['-1', undefined],
    [undefined, undefined],
  ])('%s -> %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
