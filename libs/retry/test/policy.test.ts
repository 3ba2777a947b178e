import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { EphemeralPostgres, freePort } from '@tether/devstack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRetryPolicy,
  DeadlineExceededError,
  InvalidOptionError,
  RetryExhaustedError,
  type RetryPolicyOptions,
} from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

// Generous: the machine is shared; the point is "returns at the deadline", not "hangs until the attempt does".
const TOLERANCE_MS = 150;

function fastPolicy(options: Partial<RetryPolicyOptions> = {}) {
  return createRetryPolicy({ name: 'test', initialDelayMs: 1, maxDelayMs: 5, ...options });
}

/** A real ECONNREFUSED: nothing listens on a freshly freed port. */
function connectTo(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('retry decisions', () => {
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  it('retries an error proving nothing was sent (ECONNREFUSED) even for non-idempotent work', async () => {
    let attempts = 0;
    const result = await fastPolicy({ maxAttempts: 5 }).execute(async ({ attempt }) => {
      attempts = attempt;
      if (attempt < 3) await connectTo(closedPort);
      return 'done';
    });
    expect(result).toBe('done');
    expect(attempts).toBe(3);
  });

  it('rethrows the original error, untouched, when it is not retryable', async () => {
    const original = Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' });
    let attempts = 0;
    const error = await rejectionOf(
      fastPolicy().execute(
        async () => {
          attempts++;
          throw original;
        },
        { idempotent: true },
      ),
    );
    expect(error).toBe(original);
    expect(attempts).toBe(1);
  });

  it('after retries, throws RetryExhaustedError with the last error as cause and the attempt count', async () => {
    let attempts = 0;
    const error = await rejectionOf(
      fastPolicy({ maxAttempts: 4 }).execute(async () => {
        attempts++;
        await connectTo(closedPort);
      }),
    );
    expect(attempts).toBe(4);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error).toMatchObject({ code: 'TETHER_RETRY_EXHAUSTED', attempts: 4, retryable: true });
    expect((error as RetryExhaustedError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('retries a serialization failure only when the call is a whole transaction', async () => {
    const serialization = () =>
      Object.assign(new Error('could not serialize access'), { code: '40001', severity: 'ERROR' });
    let statementAttempts = 0;
    await rejectionOf(
      fastPolicy().execute(
        async () => {
          statementAttempts++;
          throw serialization();
        },
        { idempotent: true },
      ),
    );
    expect(statementAttempts).toBe(1);

    const value = await fastPolicy().execute(
      async ({ attempt }) => {
        if (attempt === 1) throw serialization();
        return attempt;
      },
      { transaction: true },
    );
    expect(value).toBe(2);
  });

  it("returns the caller's abort reason and aborts the attempt's signal when the caller cancels", async () => {
    const caller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const call = fastPolicy().execute(
      ({ signal }) => {
        attemptSignal = signal;
        setTimeout(() => caller.abort(new Error('client went away')), 20);
        return new Promise(() => {});
      },
      { signal: caller.signal },
    );
    const error = await rejectionOf(call);
    expect((error as Error).message).toBe('client went away');
    expect(attemptSignal?.aborted).toBe(true);
  });

  it('a caller abort during the backoff delay ends the call at once', async () => {
    const caller = new AbortController();
    const started = performance.now();
    const call = createRetryPolicy({
      name: 'test',
      initialDelayMs: 5000,
      maxDelayMs: 5000,
      deadlineMs: 60_000,
    }).execute(
      async () => {
        setTimeout(() => caller.abort(new Error('shutting down')), 20);
        await connectTo(closedPort);
      },
      { signal: caller.signal },
    );
    expect(await rejectionOf(call)).toMatchObject({ message: 'shutting down' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('keeps credentials out of its error messages', async () => {
    const leaky = Object.assign(
      new Error('could not reach postgres://app:s3cret@db:5432/app (password=s3cret)'),
      { code: 'ECONNREFUSED', syscall: 'connect' },
    );
    const error = await rejectionOf(fastPolicy({ maxAttempts: 2 }).execute(() => Promise.reject(leaky)));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as Error).message).not.toContain('s3cret');
    expect((error as Error).message).toContain('postgres://***@db:5432/app');
  });

  it('validates options up front, naming the option', () => {
    expect(() => createRetryPolicy({} as RetryPolicyOptions)).toThrow('name is required');
    expect(() => fastPolicy({ maxAttempts: 0 })).toThrow(InvalidOptionError);
    expect(() => fastPolicy({ maxAttempts: 1.5 })).toThrow('maxAttempts must be an integer >= 1, got 1.5');
    expect(() => fastPolicy({ deadlineMs: -1 })).toThrow(
      'deadlineMs must be a number between 1 and 2147483647, got -1',
    );
    expect(() => fastPolicy({ deadlineMs: 2 ** 31 })).toThrow(
      'deadlineMs must be a number between 1 and 2147483647, got 2147483648',
    );
    expect(() => fastPolicy({ budget: {} as never })).toThrow('budget must be a RetryBudget, got an object');
  });
});

describe('non-idempotent work whose request was sent', () => {
  let server: Server;
  let url: string;
  const received: string[] = [];
  beforeAll(async () => {
    // Reads the whole request, then drops the connection without answering: the work may have happened.
    server = createServer((req: IncomingMessage) => {
      received.push(req.url ?? '');
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    url = await listen(server);
  });
  afterAll(() => {
    server.close();
  });

  it('is not retried: exactly one request reaches the server', async () => {
    received.length = 0;
    const error = await rejectionOf(
      fastPolicy({ maxAttempts: 5 }).execute(({ signal }) =>
        fetch(`${url}/charge`, { method: 'POST', body: '{}', signal }),
      ),
    );
    expect(received).toEqual(['/charge']);
    expect(error).toBeInstanceOf(TypeError); // the original fetch error, not wrapped
  });

  it('control: the same failure IS retried when the call is idempotent', async () => {
    received.length = 0;
    const error = await rejectionOf(
      fastPolicy({ maxAttempts: 5 }).execute(({ signal }) => fetch(`${url}/lookup`, { signal }), {
        idempotent: true,
      }),
    );
    expect(received).toHaveLength(5);
    expect(error).toBeInstanceOf(RetryExhaustedError);
  });
});

describe('the deadline', () => {
  it('an always-failing operation returns within deadline + tolerance with DeadlineExceededError', async () => {
    const closedPort = await freePort();
    let attempts = 0;
    const started = performance.now();
    const error = await rejectionOf(
      createRetryPolicy({
        name: 'test',
        maxAttempts: 1000,
        deadlineMs: 400,
        initialDelayMs: 10,
        maxDelayMs: 80,
      }).execute(async () => {
        attempts++;
        await connectTo(closedPort);
      }),
    );
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED', deadlineMs: 400 });
    expect((error as DeadlineExceededError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(elapsed).toBeLessThan(400 + TOLERANCE_MS);
    expect(attempts).toBeGreaterThan(3);
  });

  it('a hanging attempt that ignores its signal: the call still returns at the deadline, the signal is aborted', async () => {
    let attemptSignal: AbortSignal | undefined;
    const started = performance.now();
    const error = await rejectionOf(
      fastPolicy({ deadlineMs: 300 }).execute(({ signal }) => {
        attemptSignal = signal;
        return new Promise(() => {});
      }),
    );
    expect(performance.now() - started).toBeLessThan(300 + TOLERANCE_MS);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(attemptSignal?.aborted).toBe(true);
    expect((attemptSignal?.reason as Error).name).toBe('TimeoutError');
  });

  describe('with a real server that never answers', () => {
    let server: Server;
    let url: string;
    let closedByClient = 0;
    beforeAll(async () => {
      server = createServer((req) => req.on('close', () => closedByClient++));
      url = await listen(server);
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });

    it('the hanging request is really cancelled (the server sees the client hang up)', async () => {
      const started = performance.now();
      const error = await rejectionOf(
        fastPolicy({ deadlineMs: 300 }).execute(({ signal }) => fetch(url, { signal }), { idempotent: true }),
      );
      expect(performance.now() - started).toBeLessThan(300 + TOLERANCE_MS);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      await expect.poll(() => closedByClient).toBe(1);
    });

    it('a per-call deadlineMs tightens the policy deadline', async () => {
      const started = performance.now();
      const error = await rejectionOf(
        fastPolicy({ deadlineMs: 10_000 }).execute(({ signal }) => fetch(url, { signal }), {
          deadlineMs: 100,
        }),
      );
      expect(error).toMatchObject({ deadlineMs: 100 });
      expect(performance.now() - started).toBeLessThan(100 + TOLERANCE_MS);
    });
  });
});

describe('Retry-After', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/long') res.writeHead(503, { 'retry-after': '120' }).end();
      else if (requests === 1) res.writeHead(503, { 'retry-after': '1' }).end();
      else res.writeHead(200).end('ok');
    });
    url = await listen(server);
  });
  afterAll(() => {
    server.close();
  });

  /** Turns a non-2xx response into a thrown value that classify() reads status and headers from. */
  async function get(path: string, signal: AbortSignal): Promise<string> {
    const response = await fetch(`${url}${path}`, { signal });
    if (!response.ok) throw response;
    return response.text();
  }

  it('waits at least as long as the server asked, even with a 1 ms backoff', async () => {
    requests = 0;
    const started = performance.now();
    const body = await fastPolicy({ deadlineMs: 5000 }).execute(({ signal }) => get('/', signal), {
      idempotent: true,
    });
    expect(body).toBe('ok');
    expect(requests).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('a Retry-After beyond the deadline gives up at once instead of sleeping past it', async () => {
    requests = 0;
    const started = performance.now();
    const error = await rejectionOf(
      fastPolicy({ deadlineMs: 2000 }).execute(({ signal }) => get('/long', signal), { idempotent: true }),
    );
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(requests).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('riding through a real Postgres restart', () => {
  let postgres: EphemeralPostgres;
  beforeAll(async () => {
    postgres = await EphemeralPostgres.start();
  });
  afterAll(async () => {
    await postgres?.close();
  });

  async function duringRestart<T>(work: (pool: pg.Pool) => Promise<T>): Promise<PromiseSettledResult<T>> {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    pool.on('error', () => {});
    try {
      await postgres.stop();
      const restarted = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await postgres.start();
      })();
      const [outcome] = await Promise.allSettled([work(pool), restarted]);
      await restarted;
      return outcome;
    } finally {
      await pool.end();
    }
  }

  it('control: a bare pool.query during the restart fails', async () => {
    const outcome = await duringRestart((pool) => pool.query('SELECT 1 AS one'));
    expect(outcome.status).toBe('rejected');
  });

  it('the same query through the policy succeeds (a refused connect is safe to retry even for writes)', async () => {
    const policy = createRetryPolicy({
      name: 'postgres',
      maxAttempts: 50,
      deadlineMs: 10_000,
      initialDelayMs: 20,
      maxDelayMs: 200,
    });
    const outcome = await duringRestart((pool) => policy.execute(() => pool.query('SELECT 1 AS one')));
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { rows: [{ one: 1 }] } });
  });
});
