import { redactText } from '@tether/redact';
import { describe, expect, it } from 'vitest';
import {
  createRetryPolicy,
  DeadlineExceededError,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
} from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

// A driver message with every kind of credential the shared rule knows, next to look-alike keys
// that must stay readable (a redactor that blanks `max_tokens` gets switched off).
const leaky =
  'upstream said: max_tokens=5 passed=true dbPassword=hunter2 x-api-key: k-123456 ' +
  'url=postgres://app:s3cret@db:5432/app Authorization: Bearer abc.def.ghi';

function expectRedacted(message: string): void {
  for (const secret of ['hunter2', 'k-123456', 's3cret', 'abc.def.ghi'])
    expect(message).not.toContain(secret);
  expect(message).toContain('max_tokens=5');
  expect(message).toContain('passed=true');
  expect(message).toContain('dbPassword=***');
  expect(message).toContain('x-api-key: ***');
  expect(message).toContain('postgres://***@db:5432/app');
  expect(message).toContain('Authorization: Bearer ***');
  // Exactly the shared rule of @tether/redact, not a look-alike of it.
  expect(message).toContain(redactText(leaky));
}

describe('error descriptions use the shared @tether/redact rule', () => {
  it('masks dbPassword, x-api-key, a URL password and a bearer token in RetryExhaustedError, keeps max_tokens', async () => {
    const cause = Object.assign(new Error(leaky), { code: 'ECONNREFUSED', syscall: 'connect' });
    const policy = createRetryPolicy({ name: 'test', maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 });
    const error = await rejectionOf(policy.execute(() => Promise.reject(cause)));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as Error).message).toMatch(/^test: still failing after 2 attempts: ECONNREFUSED /);
    expectRedacted((error as Error).message);
    // The cause itself is left as it was: only the description is scrubbed.
    expect((error as Error).cause).toBe(cause);
  });

  it('masks the same in DeadlineExceededError and RetryBudgetExhaustedError, and in a thrown string', () => {
    expectRedacted(new DeadlineExceededError('db', 1000, 3, new Error(leaky)).message);
    expectRedacted(new RetryBudgetExhaustedError('db', 2, leaky).message);
  });
});
