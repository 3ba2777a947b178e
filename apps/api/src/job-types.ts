import * as z from 'zod';

/**
 * The job types this API accepts and the payload each takes (ARCHITECTURE.md "Job types shipped for
 * demos and tests"). A fork adds its own here and a handler in apps/worker.
 */
export const JOB_PAYLOADS = {
  'demo.sleep': z
    .strictObject({
      ms: z.int().min(0).max(3_600_000).meta({ description: 'Total run time, ms' }),
      steps: z.int().min(1).max(1000).default(1).meta({ description: 'How many progress reports' }),
    })
    .meta({ id: 'DemoSleepPayload' }),
  'demo.fail': z
    .strictObject({ message: z.string().max(1000).default('demo.fail') })
    .meta({ id: 'DemoFailPayload', description: 'Fails permanently with this message' }),
  'demo.flaky': z
    .strictObject({ failTimes: z.int().min(0).max(100) })
    .meta({ id: 'DemoFlakyPayload', description: 'Fails transiently failTimes times, then succeeds' }),
} as const;

export type JobType = keyof typeof JOB_PAYLOADS;
export const JOB_TYPES = Object.keys(JOB_PAYLOADS) as JobType[];

export function isJobType(value: unknown): value is JobType {
  return typeof value === 'string' && Object.hasOwn(JOB_PAYLOADS, value);
}
