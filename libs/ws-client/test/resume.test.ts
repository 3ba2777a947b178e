import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../src/index.ts';
import { ResumeState } from '../src/resume.ts';

const event = (jobId: string, id: string) => ({ id, jobId, type: 'progress', data: {}, ts: '' });

describe('compareEventIds', () => {
  it('orders numeric ids as numbers, beyond 2^53 too', () => {
    expect(compareEventIds('9', '10')).toBeLessThan(0);
    expect(compareEventIds('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
    expect(compareEventIds('42', '42')).toBe(0);
  });

  it('orders other ids as strings (e.g. zero-padded or ULID-like)', () => {
    expect(compareEventIds('01J0A', '01J0B')).toBeLessThan(0);
    expect(compareEventIds('b', 'a')).toBeGreaterThan(0);
  });
});

describe('ResumeState', () => {
  it('accepts each newer id once, drops repeats, older ids and unsubscribed jobs', () => {
    const state = new ResumeState();
    state.add('a', '5');
    expect(state.accept(event('a', '5'))).toBe(false);
    expect(state.accept(event('a', '6'))).toBe(true);
    expect(state.accept(event('a', '6'))).toBe(false);
    expect(state.accept(event('a', '3'))).toBe(false);
    expect(state.accept(event('b', '1'))).toBe(false);
    expect(state.subscribeMessages()).toEqual([{ op: 'subscribe', jobId: 'a', after: '6' }]);
    state.remove('a');
    expect(state.accept(event('a', '7'))).toBe(false);
  });
});
