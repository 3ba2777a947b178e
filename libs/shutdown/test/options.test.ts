import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  LifecycleBudgetError,
  applyHttpServerDefaults,
  checkLifecycleBudget,
  createLifecycle,
  lifecycleOptionsFromEnv,
  resolveLifecycleOptions,
} from '../src/index.ts';

describe('options', () => {
  it('applies the documented defaults', () => {
    expect(resolveLifecycleOptions()).toMatchObject({
      drainDelayMs: 5000,
      shutdownTimeoutMs: 15_000,
      hookTimeoutMs: 5000,
      webSocketCloseCode: 1012,
      adminPort: 9090,
      adminHost: '::',
      signals: ['SIGTERM', 'SIGINT'],
      duplicateSignalWindowMs: 1000,
    });
  });

  it('rejects a bad option up front, naming it', () => {
    expect(() => createLifecycle({ drainDelayMs: -1, signals: [] })).toThrow(InvalidOptionError);
    expect(() => createLifecycle({ shutdownTimeoutMs: 1.5, signals: [] })).toThrow(
      'shutdownTimeoutMs must be an integer >= 1, got 1.5',
    );
    expect(() => createLifecycle({ webSocketCloseCode: 999, signals: [] })).toThrow(/webSocketCloseCode/);
    expect(() => createLifecycle({ logger: {} as never, signals: [] })).toThrow(
      'logger must have info(), warn() and error() methods (a pino logger fits), got an object',
    );
    try {
      resolveLifecycleOptions({ adminPort: 70_000 });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'TETHER_INVALID_OPTION', field: 'adminPort', retryable: false });
    }
  });

  it('reads the environment variables and names the bad one', () => {
    expect(
      lifecycleOptionsFromEnv({
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        SHUTDOWN_TIMEOUT_MS: '20000',
        ADMIN_PORT: '9091',
      }),
    ).toEqual({
      drainDelayMs: 0,
      shutdownTimeoutMs: 20_000,
      adminPort: 9091,
    });
    expect(lifecycleOptionsFromEnv({})).toEqual({});
    expect(() => lifecycleOptionsFromEnv({ SHUTDOWN_TIMEOUT_MS: '10s' })).toThrow(
      'SHUTDOWN_TIMEOUT_MS must be an integer between 1 and 3600000, got "10s"',
    );
    expect(() => lifecycleOptionsFromEnv({ SHUTDOWN_TIMEOUT_MS: '0' })).toThrow(
      'SHUTDOWN_TIMEOUT_MS must be an integer between 1 and 3600000, got "0"',
    );
    expect(() => lifecycleOptionsFromEnv({ ADMIN_PORT: '65536' })).toThrow(/^ADMIN_PORT/);
    expect(() => lifecycleOptionsFromEnv({ SHUTDOWN_DRAIN_DELAY_MS: '-5' })).toThrow(
      /^SHUTDOWN_DRAIN_DELAY_MS/,
    );
  });
});

describe('checkLifecycleBudget', () => {
  it('accepts a budget that fits and reports the slack', () => {
    expect(
      checkLifecycleBudget({
        terminationGracePeriodSeconds: 30,
        preStopSleepSeconds: 5,
        drainDelayMs: 0,
        shutdownTimeoutMs: 20_000,
      }),
    ).toEqual({
      requiredMs: 27_000,
      availableMs: 30_000,
      slackMs: 3000,
      warnings: [],
    });
  });

  it('rejects a grace period shorter than preStop + drain delay + shutdown timeout + margin, with the numbers', () => {
    const check = () =>
      checkLifecycleBudget({
        terminationGracePeriodSeconds: 30,
        preStopSleepSeconds: 10,
        drainDelayMs: 5000,
        shutdownTimeoutMs: 15_000,
      });
    expect(check).toThrow(LifecycleBudgetError);
    expect(check).toThrow(
      'terminationGracePeriodSeconds (30 s) must be >= preStop sleep (10 s) + SHUTDOWN_DRAIN_DELAY_MS (5000 ms) + SHUTDOWN_TIMEOUT_MS (15000 ms) + margin (2000 ms) = 32 s',
    );
  });

  it('warns when preStop sleep and drain delay are both set (they add up) or both missing', () => {
    expect(
      checkLifecycleBudget({
        terminationGracePeriodSeconds: 60,
        preStopSleepSeconds: 5,
        drainDelayMs: 5000,
        shutdownTimeoutMs: 10_000,
      }).warnings[0],
    ).toMatch(/add up/);
    expect(
      checkLifecycleBudget({ terminationGracePeriodSeconds: 60, drainDelayMs: 0, shutdownTimeoutMs: 10_000 })
        .warnings[0],
    ).toMatch(/refused/);
  });

  it('names a bad input', () => {
    expect(() =>
      checkLifecycleBudget({
        terminationGracePeriodSeconds: Number.NaN,
        drainDelayMs: 0,
        shutdownTimeoutMs: 1,
      }),
    ).toThrow(/^terminationGracePeriodSeconds/);
  });
});

describe('applyHttpServerDefaults', () => {
  it('sets keep-alive above the ALB idle timeout and headers timeout above keep-alive', () => {
    const server = applyHttpServerDefaults(createServer());
    expect(server.keepAliveTimeout).toBe(65_000);
    expect(server.headersTimeout).toBe(66_000);
    expect(server.requestTimeout).toBe(300_000);
  });

  it('refuses a headers timeout that does not exceed keep-alive', () => {
    expect(() => applyHttpServerDefaults(createServer(), { keepAliveTimeoutMs: 70_000 })).toThrow(
      'headersTimeoutMs must be > keepAliveTimeoutMs (70000 ms), got 66000',
    );
  });
});
