import { TetherError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  IdempotencyKeyReusedError,
  InvalidCursorError,
  JobsError,
  JobsInputError,
} from '../src/index.ts';
import { JobNotFoundError } from '../src/index.ts';

describe('@tether/jobs public surface', () => {
  it('pins the code literals', () => {
    expectTypeOf<IdempotencyKeyReusedError['code']>().toEqualTypeOf<'TETHER_JOBS_IDEMPOTENCY_KEY_REUSED'>();
    expectTypeOf<InvalidCursorError['code']>().toEqualTypeOf<'TETHER_JOBS_INVALID_CURSOR'>();
    expectTypeOf<JobsInputError['code']>().toEqualTypeOf<'TETHER_JOBS_INVALID_INPUT'>();
    expectTypeOf<JobNotFoundError['code']>().toEqualTypeOf<'TETHER_JOBS_NOT_FOUND'>();
    expectTypeOf<JobNotFoundError['jobId']>().toEqualTypeOf<string>();
    expectTypeOf<JobNotFoundError>().toMatchTypeOf<JobsError>();

    expect(new JobNotFoundError('j')).toBeInstanceOf(TetherError);
    expect(new JobNotFoundError('j').retryable).toBe(false);
  });
});
