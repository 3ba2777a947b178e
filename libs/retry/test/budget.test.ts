import net from 'node:net';
import { freePort } from '@tether/devstack';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createRetryPolicy,
  RetryBudget,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
} from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

/** A dependency that is down hard: every attempt is a real connect to a closed port (ECONNREFUSED). */
function makeDependency(port: number) {
  const dependency = {
    attempts: 0,
    call: () =>
      new Promise<void>((resolve, reject) => {
        dependency.attempts++;
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      }),
  };
  return dependency;
}

describe('RetryBudget under a total outage', () => {
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  const CALLS = 1000;
  const ratio = 0.1;
  const floor = 10;

  it(`${CALLS} calls make at most ${CALLS} x (1 + ratio) + floor attempts`, async () => {
    const frozenClock = () => 0; // the floor refills with time; freeze it so the bound is exact
    const budget = new RetryBudget({ ratio, minRetriesPerSecond: floor, now: frozenClock });
    const policy = createRetryPolicy({
      name: 'down',
      maxAttempts: 5,
      initialDelayMs: 1,
      maxDelayMs: 1,
      budget,
    });
    const dependency = makeDependency(closedPort);
    const errors: unknown[] = [];
    for (let i = 0; i < CALLS; i++) errors.push(await rejectionOf(policy.execute(dependency.call)));

    expect(dependency.attempts).toBeLessThanOrEqual(CALLS * (1 + ratio) + floor);
    // The bound is tight: the budget, not maxAttempts, is what stopped the retries.
    expect(dependency.attempts).toBe(CALLS * (1 + ratio) + floor);
    const refused = errors.filter((e) => e instanceof RetryBudgetExhaustedError);
    expect(refused.length).toBeGreaterThan(CALLS * 0.8);
    expect(refused[0]).toMatchObject({ code: 'TETHER_RETRY_BUDGET_EXHAUSTED', retryable: false });
    expect((refused[0] as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('control: without a budget the same outage is hit maxAttempts times per call', async () => {
    const policy = createRetryPolicy({ name: 'down', maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 });
    const dependency = makeDependency(closedPort);
    const calls = 100;
    for (let i = 0; i < calls; i++)
      expect(await rejectionOf(policy.execute(dependency.call))).toBeInstanceOf(RetryExhaustedError);
    expect(dependency.attempts).toBe(calls * 5);
  });
});

describe('RetryBudget accounting', () => {
  it('starts with the floor, earns ratio per request, and refills the floor over time', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 2, now: () => now });
    expect(budget.available).toBe(2);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    now = 500; // half a second: one floor token back
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    now = 60_000; // a long quiet minute refills the floor only up to one second's worth
    expect(budget.available).toBe(2);
  });

  it('caps deposits at maxTokens so a healthy hour cannot bank a retry storm', () => {
    const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, maxTokens: 3, now: () => 0 });
    for (let i = 0; i < 1000; i++) budget.recordRequest();
    expect(budget.available).toBe(3);
  });

  it('validates its options, naming them', () => {
    expect(() => new RetryBudget({ ratio: -0.1 })).toThrow('ratio must be a number >= 0, got -0.1');
    expect(() => new RetryBudget({ minRetriesPerSecond: Number.POSITIVE_INFINITY })).toThrow(
      'minRetriesPerSecond must be a number >= 0, got Infinity',
    );
    expect(() => new RetryBudget({ now: 5 as never })).toThrow('now must be a function, got 5');
  });
});
