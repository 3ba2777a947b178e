import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { type DisconnectInfo, type JobEvent, WsClient, WsConnectionError } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'test-token-s3cr3t';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function gateway(
  log: EventLog,
  options: { port?: number; replayInclusive?: boolean } = {},
): Promise<TestGateway> {
  const gw = await TestGateway.start({ token: TOKEN, log, ...options });
  cleanups.push(() => gw.stop());
  return gw;
}

function client(url: string, options: Partial<ConstructorParameters<typeof WsClient>[0]> = {}) {
  const c = new WsClient({ url, token: TOKEN, ...options });
  cleanups.push(() => c.close());
  const events: JobEvent[] = [];
  const disconnects: DisconnectInfo[] = [];
  c.on('event', (e) => events.push(e));
  c.on('disconnected', (d) => disconnects.push(d));
  const ids = (jobId: string) => events.filter((e) => e.jobId === jobId).map((e) => e.id);
  return { c, events, disconnects, ids };
}

describe('WsClient across a gateway restart (1012)', () => {
  it('delivers every event once and in order, including those published while it was away', async () => {
    const log = new EventLog();
    const first = await gateway(log);
    const { c, disconnects, ids, events } = client(first.url, {
      restartReconnectDelayMs: 100,
      initialReconnectDelayMs: 50,
    });
    c.subscribe('job-a');
    c.subscribe('job-b');
    await once(c, 'open');
    for (let i = 0; i < 6; i++) log.append('job-a');
    for (let i = 0; i < 4; i++) log.append('job-b');
    await waitFor('the first 10 events', () => events.length === 10);

    await first.stop(1012);
    // Published while no gateway runs: only a resume `after` the last id can deliver them.
    for (let i = 0; i < 5; i++) log.append('job-a');
    log.append('job-b', 'succeeded');
    await new Promise((r) => setTimeout(r, 300));
    const second = await gateway(log, { port: first.port });
    await waitFor('the events published during the restart', () => events.length === 16);
    log.append('job-a', 'succeeded');
    await waitFor('a live event after the resume', () => events.length === 17);

    expect(ids('job-a')).toEqual(log.ids('job-a'));
    expect(ids('job-b')).toEqual(log.ids('job-b'));
    // job-a's ids go 6 -> 11: as strings '11' < '6', so only a numeric comparison keeps them.
    expect(ids('job-a').slice(5, 7)).toEqual(['6', '11']);
    expect(c.state).toBe('open');
    expect(second.accepted.length).toBe(1);
    // The 1012 itself is "reconnect elsewhere": prompt, and not counted as a failure.
    expect(disconnects[0]).toMatchObject({ reason: 'restart', code: 1012, failures: 0 });
    expect(disconnects[0]!.delayMs).toBeLessThanOrEqual(100);
    expect(disconnects[0]!.error).toBeUndefined();
  });

  it('drops events a gateway replays twice (replay from `after` inclusive)', async () => {
    const log = new EventLog();
    const first = await gateway(log, { replayInclusive: true });
    const { c, ids, events } = client(first.url, { restartReconnectDelayMs: 50 });
    c.subscribe('job-a');
    await once(c, 'open');
    for (let i = 0; i < 3; i++) log.append('job-a');
    await waitFor('3 events', () => events.length === 3);
    first.closeAll(1001);
    await once(c, 'open');
    log.append('job-a');
    await waitFor('the 4th event', () => events.length === 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(ids('job-a')).toEqual(log.ids('job-a'));
    expect(c.lastEventId('job-a')).toBe(log.ids('job-a').at(-1));
  });

  it('stops delivering a job after unsubscribe and resumes from `after` given at subscribe', async () => {
    const log = new EventLog();
    const gw = await gateway(log);
    const earlier = [log.append('job-a'), log.append('job-a'), log.append('job-a')];
    const { c, ids, events } = client(gw.url);
    c.subscribe('job-a', { after: earlier[0]!.id });
    await waitFor('the 2 events after the cursor', () => events.length === 2);
    expect(ids('job-a')).toEqual([earlier[1]!.id, earlier[2]!.id]);
    c.unsubscribe('job-a');
    log.append('job-a');
    await new Promise((r) => setTimeout(r, 150));
    expect(events.length).toBe(2);
  });
});

describe('WsClient after an abrupt end (1006)', () => {
  it('reconnects with growing jittered delays, then resumes and resets the backoff once stable', async () => {
    const log = new EventLog();
    const gw = await gateway(log);
    const { c, disconnects, ids, events } = client(gw.url, {
      initialReconnectDelayMs: 50,
      maxReconnectDelayMs: 2000,
      stableAfterMs: 300,
      random: () => 0.9,
    });
    c.subscribe('job-a');
    await once(c, 'open');
    log.append('job-a');
    await waitFor('the first event', () => events.length === 1);

    // A crash-looping backend: every connection is accepted, then dropped without a close frame.
    gw.dropNewConnections = true;
    gw.terminateAll();
    await waitFor('4 failed connections', () => disconnects.length >= 4);
    const failures = disconnects.slice(0, 4);
    expect(failures.map((d) => [d.reason, d.code, d.failures])).toEqual([
      ['failure', 1006, 1],
      ['failure', 1006, 2],
      ['failure', 1006, 3],
      ['failure', 1006, 4],
    ]);
    expect(failures.every((d) => d.error instanceof WsConnectionError && d.error.retryable)).toBe(true);
    const delays = failures.map((d) => d.delayMs);
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThan(delays[i - 1]!);
    // The server saw the reconnects (accepted[1..]) spaced by (at least) those delays: no tight loop.
    // accepted[i + 1] - accepted[i] spans: drop, delays[i], connect.
    for (let i = 1; i < 3; i++)
      expect(gw.accepted[i + 1]! - gw.accepted[i]!).toBeGreaterThanOrEqual(delays[i]! - 5);

    log.append('job-a');
    log.append('job-a');
    gw.dropNewConnections = false;
    await waitFor('the events published during the outage', () => events.length === 3, 5000);
    expect(ids('job-a')).toEqual(log.ids('job-a'));

    await new Promise((r) => setTimeout(r, 400)); // > stableAfterMs
    const before = disconnects.length;
    gw.terminateAll();
    await waitFor('the next disconnect', () => disconnects.length > before);
    expect(disconnects[before]).toMatchObject({ reason: 'failure', failures: 1 });
    expect(disconnects[before]!.delayMs).toBe(delays[0]);
  });
});
