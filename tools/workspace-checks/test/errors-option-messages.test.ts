import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTokenVerifier } from '@tether/auth';
import { isTetherError, TetherInvalidOptionError } from '@tether/errors';
import { OutageTracker } from '@tether/outage';
import { createPgPool, createRedis } from '@tether/pooling';
import { CircuitBreaker, createBackoff, createRetryPolicy, RetryBudget } from '@tether/retry';
import {
  applyHttpServerDefaults,
  checkLifecycleBudget,
  createLifecycle,
  lifecycleOptionsFromEnv,
} from '@tether/shutdown';
import { createLogger, startTelemetry } from '@tether/telemetry';
import { WsClient } from '@tether/ws-client';
import { describe, expect, it } from 'vitest';
import { root } from '../src/error-catalogue/render.ts';

/**
 * The one shape of an option error, whichever lib throws it: `<field> <problem>[, got <value>]`. The
 * problem starts with a verb; the value, when shown, is formatted by @tether/errors (`describeValue`):
 * a quoted string, a number, a boolean, null/undefined, or a kind (`an object`, `a string` for a secret).
 */
const PROBLEM = /^(must|is|are|cannot|needs|has) /;
const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
const NUMBER = String.raw`-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|Infinity)|NaN|-?\d+n`;
const KIND = 'an? (?:string|number|boolean|bigint|object|array|function|symbol)';
const VALUE = new RegExp(`^(?:${QUOTED}|${NUMBER}|true|false|null|undefined|${KIND})$`);

function expectOptionShape(error: unknown, field: string): void {
  expect(isTetherError(error), String(error)).toBe(true);
  expect(error).toBeInstanceOf(TetherInvalidOptionError);
  const { code, retryable, message } = error as TetherInvalidOptionError;
  expect({ code, retryable, field: (error as TetherInvalidOptionError).field }).toEqual({
    code: 'TETHER_INVALID_OPTION',
    retryable: false,
    field,
  });
  expect(message.startsWith(`${field} `), message).toBe(true);
  const rest = message.slice(field.length + 1);
  expect(rest, message).toMatch(PROBLEM);
  const got = rest.lastIndexOf(', got ');
  if (got !== -1) expect(rest.slice(got + ', got '.length), message).toMatch(VALUE);
  // The value is shown once, at the end: never a second "got" (or a "(got …)") inside the problem.
  expect((got === -1 ? rest : rest.slice(0, got)).includes('got '), message).toBe(false);
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an option error');
}

const apps = async () => ({
  worker: (await import(pathToFileURL(join(root, 'apps', 'worker', 'src', 'options.ts')).href)) as {
    workerOptionsFromEnv(env: Record<string, string>): unknown;
  },
  gateway: (await import(pathToFileURL(join(root, 'apps', 'ws-gateway', 'src', 'options.ts')).href)) as {
    resolveGatewayOptions(options: Record<string, number>): unknown;
    gatewayOptionsFromEnv(env: Record<string, string>): unknown;
  },
});

const wsValid = { url: 'ws://127.0.0.1:1/v1/stream', token: 't' };

// [lib, what is wrong, the call, the field it must name]
const cases: [string, string, () => unknown, string][] = [
  ['retry', 'no name', () => createRetryPolicy({} as never), 'name'],
  ['retry', 'zero attempts', () => createRetryPolicy({ name: 'x', maxAttempts: 0 }), 'maxAttempts'],
  ['retry', 'unknown jitter', () => createBackoff({ jitter: 'equal' as never }), 'jitter'],
  ['retry', 'inverted delays', () => createBackoff({ initialDelayMs: 200, maxDelayMs: 100 }), 'maxDelayMs'],
  ['retry', 'negative ratio', () => new RetryBudget({ ratio: -1 }), 'ratio'],
  [
    'retry',
    'bad threshold',
    () => new CircuitBreaker({ name: 'x', sampling: { threshold: 2, durationMs: 1 } }),
    'sampling.threshold',
  ],
  ['pooling', 'zero max', () => createPgPool({ user: 'app', max: 0 }), 'max'],
  ['pooling', 'min above max', () => createPgPool({ user: 'app', min: 5, max: 2 }), 'min'],
  ['pooling', 'libpq prefer', () => createPgPool({ user: 'app', sslmode: 'prefer' as never }), 'sslmode'],
  [
    'pooling',
    'misspelled option',
    () => createPgPool({ user: 'app', idleTimeoutMS: 1 } as never),
    'idleTimeoutMS',
  ],
  [
    'pooling',
    'DSN port',
    () => createPgPool({ connectionString: 'postgres://app:pw@db/app?port=0' }),
    'connectionString?port',
  ],
  [
    'pooling',
    'secret of the wrong type',
    () => createPgPool({ user: 'app', password: 12345678 as never }),
    'password',
  ],
  ['pooling', 'Redis port', () => createRedis({ port: 70_000 }), 'port'],
  ['pooling', 'Redis scheme', () => createRedis({ url: 'http://cache:6379' }), 'url'],
  ['pooling', 'Redis logger', () => createRedis({ logger: {} as never }), 'logger'],
  [
    'shutdown',
    'negative drain delay',
    () => createLifecycle({ drainDelayMs: -1, signals: [] }),
    'drainDelayMs',
  ],
  [
    'shutdown',
    'env timeout',
    () => lifecycleOptionsFromEnv({ SHUTDOWN_TIMEOUT_MS: '10s' }),
    'SHUTDOWN_TIMEOUT_MS',
  ],
  [
    'shutdown',
    'headers timeout',
    () => applyHttpServerDefaults(createServer(), { keepAliveTimeoutMs: 70_000 }),
    'headersTimeoutMs',
  ],
  [
    'shutdown',
    'budget input',
    () => checkLifecycleBudget({ terminationGracePeriodSeconds: -1, drainDelayMs: 0, shutdownTimeoutMs: 1 }),
    'terminationGracePeriodSeconds',
  ],
  ['telemetry', 'ratio', () => startTelemetry({ serviceName: 'x', sampleRatio: 2 }), 'sampleRatio'],
  [
    'telemetry',
    'unknown instrumentation',
    () => startTelemetry({ serviceName: 'x', instrumentations: { mongo: true } as never }),
    'instrumentations.mongo',
  ],
  ['telemetry', 'no service name', () => startTelemetry({} as never), 'serviceName'],
  ['telemetry', 'logger level', () => createLogger({ level: 'loud' }), 'level'],
  ['telemetry', 'logger redactKeys', () => createLogger({ redactKeys: 'password' as never }), 'redactKeys'],
  ['ws-client', 'token placement', () => new WsClient({ ...wsValid, tokenIn: 'cookie' as never }), 'tokenIn'],
  [
    'ws-client',
    'timeout as a string',
    () => new WsClient({ ...wsValid, connectTimeoutMs: '5000' as never }),
    'connectTimeoutMs',
  ],
  [
    'ws-client',
    'inverted delays',
    () => new WsClient({ ...wsValid, initialReconnectDelayMs: 500, maxReconnectDelayMs: 100 }),
    'maxReconnectDelayMs',
  ],
  [
    'ws-client',
    'fractional count',
    () => new WsClient({ ...wsValid, restartsBeforeBackoff: 1.5 }),
    'restartsBeforeBackoff',
  ],
  ['ws-client', 'url scheme', () => new WsClient({ ...wsValid, url: 'http://gw/v1/stream' }), 'url'],
  ['outage', 'empty dependency', () => new OutageTracker({ dependency: ' ' }), 'dependency'],
  ['outage', 'tracer', () => new OutageTracker({ dependency: 'pg', tracer: {} as never }), 'tracer'],
  [
    'auth',
    'negative clock tolerance',
    () => createTokenVerifier({ secret: 's', clockToleranceS: -1 }),
    'clockToleranceS',
  ],
];

describe('every option error has the same shape', () => {
  it.each(cases)('%s: %s', (_lib, _what, call, field) => {
    expectOptionShape(thrownBy(call), field);
  });

  it('apps: worker and gateway variables and options', async () => {
    const { worker, gateway } = await apps();
    expectOptionShape(
      thrownBy(() => worker.workerOptionsFromEnv({ WORKER_CONCURRENCY: 'four' })),
      'WORKER_CONCURRENCY',
    );
    expectOptionShape(
      thrownBy(() =>
        worker.workerOptionsFromEnv({ WORKER_LEASE_TTL_MS: '10000', WORKER_LEASE_RENEW_MS: '9000' }),
      ),
      'WORKER_LEASE_RENEW_MS',
    );
    expectOptionShape(
      thrownBy(() => gateway.resolveGatewayOptions({ replayMaxEvents: 5000 })),
      'replayMaxEvents',
    );
    expectOptionShape(
      thrownBy(() => gateway.gatewayOptionsFromEnv({ WS_PING_INTERVAL_MS: '1s' })),
      'WS_PING_INTERVAL_MS',
    );
  });

  it('the checker itself refuses the old shapes', () => {
    for (const old of [
      new TetherInvalidOptionError('max', ': must be >= 1, got 0'),
      new TetherInvalidOptionError('sampler', 'must be one of a, b (got "c")'),
      new TetherInvalidOptionError('tokenIn', "must be 'header' or 'query', got cookie"),
    ]) {
      expect(() => expectOptionShape(old, old.field)).toThrow();
    }
  });
});
