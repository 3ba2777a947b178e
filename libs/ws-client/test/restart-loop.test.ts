import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type DisconnectInfo, WsClient, type WsClientOptions } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'restart-loop-token';
const CLIENTS = 5;
const WINDOW_MS = 6000;
const RESTART_DELAY_MS = 200;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A gateway that accepts every upgrade and closes it at once with 1012, as a crash-looping gateway
 * (or a proxy in front of one) does; CLIENTS clients on it for WINDOW_MS.
 */
async function crashLoop(
  options: Partial<WsClientOptions>,
): Promise<{ accepted: number; delays: number[][] }> {
  const gw = await TestGateway.start({ token: TOKEN, log: new EventLog() });
  cleanups.push(() => gw.stop());
  gw.closeNewConnectionsWith = 1012;
  const delays: number[][] = [];
  const acceptedBefore = gw.accepted.length;
  for (let i = 0; i < CLIENTS; i++) {
    const client = new WsClient({
      url: gw.url,
      token: TOKEN,
      restartReconnectDelayMs: RESTART_DELAY_MS,
      initialReconnectDelayMs: 200,
      maxReconnectDelayMs: 3000,
      // Mid-range jitter: the delays are reproducible and the comparison does not hinge on luck.
      random: () => 0.5,
      ...options,
    });
    const mine: number[] = [];
    delays.push(mine);
    client.on('disconnected', (info: DisconnectInfo) => {
      expect(info.code).toBe(1012);
      expect(info.reason).toBe('restart');
      mine.push(info.delayMs);
    });
    cleanups.push(() => client.close());
  }
  await sleep(WINDOW_MS);
  return { accepted: gw.accepted.length - acceptedBefore, delays };
}

describe('restart closes without a stable connection (crash-looping gateway)', () => {
  it('after the first quick reconnect, falls back to the jittered backoff: delays grow to seconds', async () => {
    const { accepted, delays } = await crashLoop({});
    for (const mine of delays) {
      expect(mine.length).toBeGreaterThanOrEqual(3);
      // The first 1012 is a rollout as far as the client can tell: uniform(0, 200 ms).
      expect(mine[0]).toBeLessThanOrEqual(RESTART_DELAY_MS);
      // The next ones come from the backoff: 400, 700, 1150 ms… growing to 1600 ms with this jitter.
      for (let i = 2; i < mine.length; i++) expect(mine[i]!).toBeGreaterThanOrEqual(mine[i - 1]!);
      expect(mine[1]!).toBeGreaterThan(RESTART_DELAY_MS);
      expect(Math.max(...mine)).toBeGreaterThanOrEqual(1000);
    }
    // 100 + 400 + 700 + 1150 + 1475 + 1600 ms: at most 7 connects each in 6 s, whatever the machine's speed.
    expect(accepted).toBeLessThanOrEqual(CLIENTS * 7);
    console.log(`with backoff: ${accepted} connects from ${CLIENTS} clients in ${WINDOW_MS} ms`);
    control = accepted;
  });

  it('CONTROL: a quick reconnect on every 1012 (restartsBeforeBackoff unlimited, the old policy) hammers the gateway', async () => {
    const { accepted, delays } = await crashLoop({ restartsBeforeBackoff: Number.MAX_SAFE_INTEGER });
    for (const mine of delays) expect(Math.max(...mine)).toBeLessThanOrEqual(RESTART_DELAY_MS);
    console.log(`old policy: ${accepted} connects from ${CLIENTS} clients in ${WINDOW_MS} ms`);
    expect(accepted).toBeGreaterThan(2 * CLIENTS * 7);
    expect(control).toBeDefined();
    expect(accepted).toBeGreaterThan(2 * control!);
  });

  it('a stable connection in between resets it: the next 1012 is reconnected quickly again', async () => {
    const gw = await TestGateway.start({ token: TOKEN, log: new EventLog() });
    cleanups.push(() => gw.stop());
    const client = new WsClient({
      url: gw.url,
      token: TOKEN,
      restartReconnectDelayMs: RESTART_DELAY_MS,
      initialReconnectDelayMs: 1000,
      stableAfterMs: 300,
      random: () => 0.5,
    });
    cleanups.push(() => client.close());
    const infos: DisconnectInfo[] = [];
    client.on('disconnected', (info) => infos.push(info));
    await waitFor('open', () => client.state === 'open');
    gw.closeAll(1012);
    await waitFor('the quick reconnect', () => infos.length === 1 && client.state === 'open');
    gw.closeAll(1012); // not stable yet: backoff
    await waitFor('the backoff reconnect', () => infos.length === 2 && client.state === 'open', 10_000);
    await sleep(600); // now stable
    gw.closeAll(1012);
    await waitFor('the third disconnect', () => infos.length === 3);
    expect(infos.map((i) => i.delayMs)).toEqual([100, expect.any(Number), 100]);
    expect(infos[1]!.delayMs).toBeGreaterThanOrEqual(1000);
    expect(infos.map((i) => i.failures)).toEqual([0, 1, 0]);
  });
});

let control: number | undefined;
