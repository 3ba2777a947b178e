/**
 * The ledger's reading of a job's event log when a job ran more than once: what makes a re-run safe
 * (a lease-expired requeue right before it, nothing from the fenced run after that, one final event,
 * no gaps) and what does not. Pure data: the logs are the shapes the worker writes (apps/worker).
 */
import { describe, expect, it } from 'vitest';
import { auditRuns } from '../src/ledger.ts';

type E = { type: string; data?: Record<string, unknown> };
const log = (...events: E[]) => events.map((e, i) => ({ seq: i + 1, type: e.type, data: e.data ?? {} }));
const queued: E = { type: 'queued' };
const running: E = { type: 'running', data: { worker: 'w' } };
const step = (n: number): E => ({ type: 'progress', data: { step: n, steps: 4 } });
const done: E = { type: 'succeeded' };
const leaseExpired: E = { type: 'queued', data: { reason: 'lease expired: its worker stopped renewing it' } };

describe('auditRuns', () => {
  it('one run: nothing to report', () => {
    expect(auditRuns(log(queued, running, step(1), step(2), step(3), step(4), done))).toEqual({
      reruns: 0,
      rerunsWithoutLeaseExpiry: 0,
      rerunsWithoutRequeue: 0,
      fencedRunEvents: 0,
      finals: 1,
      gap: false,
    });
  });

  it('a re-run after a lease-expired requeue, the fenced run silent: safe', () => {
    const audit = auditRuns(log(queued, running, step(1), leaseExpired, running, step(1), step(2), done));
    expect(audit).toMatchObject({ reruns: 1, rerunsWithoutLeaseExpiry: 0, fencedRunEvents: 0, finals: 1 });
  });

  it('a re-run with no requeue before it, or after another reason, is counted', () => {
    const unrequeued = auditRuns(log(queued, running, step(1), running, step(1), done));
    expect(unrequeued).toMatchObject({ rerunsWithoutLeaseExpiry: 1, rerunsWithoutRequeue: 1 });
    // The worker's own retry (or a hand-off at shutdown) is a requeue, but not a lease expiry.
    const retried = log(queued, running, { type: 'queued', data: { reason: 'retry' } }, running, done);
    expect(auditRuns(retried)).toMatchObject({ rerunsWithoutLeaseExpiry: 1, rerunsWithoutRequeue: 0 });
  });

  it('writes of the fenced run after its requeue are counted', () => {
    // Between the requeue and the next run.
    expect(
      auditRuns(log(queued, running, step(1), leaseExpired, step(2), running, step(1), done)),
    ).toMatchObject({ fencedRunEvents: 1 });
    // Interleaved with the new run: its steps are out of order.
    expect(
      auditRuns(
        log(queued, running, step(1), leaseExpired, running, step(1), step(2), step(2), step(3), done),
      ).fencedRunEvents,
    ).toBeGreaterThan(0);
    // After the job finished, and a second final event.
    const twice = auditRuns(log(queued, running, leaseExpired, running, done, done));
    expect(twice.finals).toBe(2);
    // Each late event counts once, whatever rules it breaks (a second final also ends no run).
    expect(twice.fencedRunEvents).toBe(1);
    expect(auditRuns(log(queued, running, done, step(2), done)).fencedRunEvents).toBe(2);
  });

  it('a gap in the seq numbers is reported', () => {
    const events = log(queued, running, done);
    events[2] = { ...(events[2] as (typeof events)[number]), seq: 4 };
    expect(auditRuns(events).gap).toBe(true);
  });
});
