import net from 'node:net';
import { freePort } from '@tether/devstack';
import { afterEach, describe, expect, it } from 'vitest';
import { BreakerOpenError, CircuitBreaker, createRetryPolicy, type BreakerState } from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

/** A real dependency on a fixed port that can be taken down and brought back. */
class Dependency {
  readonly port: number;
  calls = 0;
  #server: net.Server | undefined;
  constructor(port: number) {
    this.port = port;
  }
  static async create(): Promise<Dependency> {
    return new Dependency(await freePort());
  }
  async up(): Promise<void> {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
  call = (): Promise<void> =>
    new Promise((resolve, reject) => {
      this.calls++;
      const socket = net.connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
}

function track(breaker: CircuitBreaker): BreakerState[] {
  const states: BreakerState[] = [];
  breaker.onStateChange((s) => states.push(s));
  return states;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CircuitBreaker', () => {
  let dependency: Dependency;
  afterEach(async () => {
    await dependency?.down();
  });

  it('closed -> open after consecutive failures -> half-open probe -> closed when the dependency is back', async () => {
    dependency = await Dependency.create();
    const breaker = new CircuitBreaker({ name: 'dep', consecutiveFailures: 3, halfOpenAfterMs: 150 });
    const states = track(breaker);

    for (let i = 0; i < 3; i++)
      await expect(breaker.execute(dependency.call)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(breaker.state).toBe('open');

    // Open: fails fast without touching the dependency.
    const callsBefore = dependency.calls;
    const fast = await rejectionOf(breaker.execute(dependency.call));
    expect(fast).toBeInstanceOf(BreakerOpenError);
    expect(fast).toMatchObject({ code: 'TETHER_BREAKER_OPEN', dependency: 'dep', retryable: true });
    expect((fast as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(dependency.calls).toBe(callsBefore);

    await dependency.up();
    await sleep(200);
    // Half-open: one probe goes through; a concurrent call fails fast instead of queueing behind it.
    const probe = breaker.execute(dependency.call);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(dependency.call)).rejects.toBeInstanceOf(BreakerOpenError);
    await probe;
    expect(breaker.state).toBe('closed');
    await breaker.execute(dependency.call);
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('open -> half-open -> open again when the probe fails', async () => {
    dependency = await Dependency.create();
    const breaker = new CircuitBreaker({ name: 'dep', consecutiveFailures: 2, halfOpenAfterMs: 100 });
    const states = track(breaker);
    for (let i = 0; i < 2; i++) await rejectionOf(breaker.execute(dependency.call));
    await sleep(150);
    const probe = await rejectionOf(breaker.execute(dependency.call));
    expect(probe).toMatchObject({ code: 'ECONNREFUSED' });
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open', 'half-open', 'open']);
    await expect(breaker.execute(dependency.call)).rejects.toBeInstanceOf(BreakerOpenError);
  });

  it('a cancelled probe does not close the breaker: it opens again', async () => {
    dependency = await Dependency.create();
    const breaker = new CircuitBreaker({ name: 'dep', consecutiveFailures: 1, halfOpenAfterMs: 50 });
    await rejectionOf(breaker.execute(dependency.call));
    await sleep(80);
    const cancelled = await rejectionOf(
      breaker.execute(() => Promise.reject(new DOMException('cancelled', 'AbortError'))),
    );
    expect((cancelled as Error).name).toBe('AbortError');
    expect(breaker.state).toBe('open');
  });

  it('errors that say nothing about the dependency (a bad query, a cancelled call) do not open it', async () => {
    const breaker = new CircuitBreaker({ name: 'dep', consecutiveFailures: 2 });
    const syntax = Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' });
    for (let i = 0; i < 5; i++)
      await expect(breaker.execute(() => Promise.reject(syntax))).rejects.toBe(syntax);
    for (let i = 0; i < 5; i++)
      await rejectionOf(breaker.execute(() => Promise.reject(new DOMException('x', 'AbortError'))));
    expect(breaker.state).toBe('closed');
  });

  it('opens on a failure ratio with the sampling breaker', async () => {
    dependency = await Dependency.create();
    await dependency.up();
    const breaker = new CircuitBreaker({
      name: 'dep',
      sampling: { threshold: 0.5, durationMs: 5000, minimumRps: 1 },
    });
    for (let i = 0; i < 4; i++) await breaker.execute(dependency.call);
    await dependency.down();
    for (let i = 0; i < 5 && breaker.state === 'closed'; i++)
      await rejectionOf(breaker.execute(dependency.call));
    expect(breaker.state).toBe('open');
  });

  it('in a retry policy: the call that opens the breaker stops retrying at once, later calls fail fast', async () => {
    dependency = await Dependency.create();
    const breaker = new CircuitBreaker({ name: 'dep', consecutiveFailures: 3, halfOpenAfterMs: 60_000 });
    const policy = createRetryPolicy({
      name: 'dep',
      maxAttempts: 10,
      initialDelayMs: 1,
      maxDelayMs: 2,
      breaker,
    });
    const first = await rejectionOf(policy.execute(dependency.call));
    expect(first).toBeInstanceOf(BreakerOpenError);
    expect(dependency.calls).toBe(3);
    const second = await rejectionOf(policy.execute(dependency.call));
    expect(second).toBeInstanceOf(BreakerOpenError);
    expect(dependency.calls).toBe(3);
  });

  it('validates its options, naming them', () => {
    expect(() => new CircuitBreaker({} as never)).toThrow('name is required');
    expect(() => new CircuitBreaker({ name: 'x', consecutiveFailures: 0 })).toThrow(
      'consecutiveFailures must be an integer >= 1, got 0',
    );
    expect(() => new CircuitBreaker({ name: 'x', sampling: { threshold: 2, durationMs: 10 } })).toThrow(
      'sampling.threshold must be a number strictly between 0 and 1, got 2',
    );
    expect(() => new CircuitBreaker({ name: 'x', halfOpenAfterMs: 0 })).toThrow(
      'halfOpenAfterMs must be a number between 1 and 2147483647, got 0',
    );
  });
});
