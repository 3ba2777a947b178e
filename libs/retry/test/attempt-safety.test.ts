import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { freePort } from '@tether/devstack';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AttemptRecord,
  attemptClassification,
  attemptsOf,
  type Classification,
  createRetryPolicy,
  mayRetryAttempt,
  trackCommand,
} from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

/** A real ECONNREFUSED: proof that this command never reached anything. */
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

const policy = () => createRetryPolicy({ name: 'test', maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 });

describe('retry safety is decided per attempt, not per error', () => {
  let server: Server;
  let url: string;
  let closedPort: number;
  let charges = 0;
  beforeAll(async () => {
    // A non-idempotent write: every POST is a charge.
    server = createServer((req, res) => {
      charges++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closedPort = await freePort();
  });
  afterAll(() => {
    server.close();
  });
  beforeEach(() => {
    charges = 0;
  });

  const charge = (signal: AbortSignal) =>
    fetch(`${url}/charge`, { method: 'POST', body: '{}', signal }).then((r) => r.text());

  it('a "nothing was sent" error after a sent command is not retried: the write happens once', async () => {
    let runs = 0;
    const error = await rejectionOf(
      policy().execute(async ({ signal, sent }) => {
        runs++;
        await trackCommand(sent, () => charge(signal));
        await trackCommand(sent, () => connectTo(closedPort));
      }),
    );
    expect(runs).toBe(1);
    expect(charges).toBe(1);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(attemptsOf(error)).toBe(1);
  });

  it('control: without the record, the same callback is re-run and the write is applied on every attempt', async () => {
    let runs = 0;
    await rejectionOf(
      policy().execute(async ({ signal }) => {
        runs++;
        await charge(signal);
        await connectTo(closedPort);
      }),
    );
    expect(runs).toBe(5);
    expect(charges).toBe(5);
  });

  it('the same failure as the first command of the attempt is retried (nothing of it was sent)', async () => {
    let runs = 0;
    const result = await policy().execute(async ({ signal, sent, attempt }) => {
      runs++;
      if (attempt < 3) await trackCommand(sent, () => connectTo(closedPort));
      return trackCommand(sent, () => charge(signal));
    });
    expect(result).toBe('ok');
    expect(runs).toBe(3);
    expect(charges).toBe(1);
  });

  it('is retried after a sent command when the caller flagged the work idempotent', async () => {
    let runs = 0;
    await rejectionOf(
      policy().execute(
        async ({ signal, sent }) => {
          runs++;
          await trackCommand(sent, () => charge(signal));
          await trackCommand(sent, () => connectTo(closedPort));
        },
        { idempotent: true },
      ),
    );
    expect(runs).toBe(5);
  });

  it('a non-retryable error on a later attempt reaches the caller unchanged, with its attempt count', async () => {
    const duplicate = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
      severity: 'ERROR',
    });
    const error = await rejectionOf(
      policy().execute(async ({ attempt, sent }) => {
        if (attempt < 3) await trackCommand(sent, () => connectTo(closedPort));
        throw duplicate;
      }),
    );
    expect(error).toBe(duplicate);
    expect((error as { code: string }).code).toBe('23505');
    expect(attemptsOf(error)).toBe(3);
    // Not enumerable: logs and serialisers see the error as the driver made it.
    expect(Object.keys(error as object)).not.toContain('tetherAttempts');
  });
});

describe('the rule, operation x error', () => {
  const c = (
    kind: Classification['kind'],
    safety: Classification['safety'],
    retryTransaction = false,
  ): Classification => ({ kind, safety, retryTransaction, reason: 'r' });
  const notSent = c('transient', 'always');
  const maybeRan = c('transient', 'idempotent');
  const never = c('transient', 'never');
  const rolledBack = c('transient', 'never', true);
  const perm = c('permanent', 'never');

  it.each([
    // [error, something sent before, flags, retried]
    ['not sent, first command', notSent, false, {}, true],
    ['not sent, after a sent command', notSent, true, {}, false],
    ['not sent, after a sent command, idempotent', notSent, true, { idempotent: true }, true],
    ['may have run', maybeRan, false, {}, false],
    ['may have run, idempotent', maybeRan, false, { idempotent: true }, true],
    ['outcome unknown (never), idempotent', never, false, { idempotent: true }, false],
    ['40001, not a whole transaction', rolledBack, true, { idempotent: true }, false],
    ['40001, whole transaction without outside effects', rolledBack, true, { transaction: true }, true],
    ['permanent, idempotent', perm, false, { idempotent: true }, false],
  ] as const)('%s', (_name, classification, sentBefore, flags, expected) => {
    expect(mayRetryAttempt(classification, sentBefore, flags)).toBe(expected);
  });

  it('reports a "not sent" error after sent commands as idempotent-only (span attribute)', () => {
    expect(attemptClassification(notSent, true).safety).toBe('idempotent');
    expect(attemptClassification(notSent, false)).toBe(notSent);
    expect(attemptClassification(maybeRan, true)).toBe(maybeRan);
  });

  it('counts a command refused before sending as not sent', async () => {
    const record = new AttemptRecord();
    const closed = await freePort();
    await rejectionOf(trackCommand(record, () => connectTo(closed)));
    expect(record.anySent).toBe(false);
    await rejectionOf(trackCommand(record, () => Promise.reject(new Error('server said no'))));
    expect(record.anySent).toBe(true);
  });
});
