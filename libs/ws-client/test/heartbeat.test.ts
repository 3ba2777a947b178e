import { once } from 'node:events';
import { FaultProxy } from '@tether/devstack';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DisconnectInfo, type JobEvent, WsClient, WsHeartbeatTimeoutError } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'hb-token';
const PING_INTERVAL_MS = 300;
const PONG_TIMEOUT_MS = 300;
// Scheduling slack on a shared, loaded 2-core machine (the nft blackhole itself can take hundreds of
// ms then); the bound the issue states is interval + timeout. The control waits just as long.
const TOLERANCE_MS = 1500;
const DETECTION_BOUND_MS = PING_INTERVAL_MS + PONG_TIMEOUT_MS + TOLERANCE_MS;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stack() {
  const log = new EventLog();
  const gw = await TestGateway.start({ token: TOKEN, log });
  const proxy = await FaultProxy.start({ targetPort: gw.port });
  cleanups.push(
    () => gw.stop(),
    () => proxy.close(),
  );
  return { log, gw, proxy, url: `ws://127.0.0.1:${proxy.port}/v1/stream` };
}

describe('heartbeat on a blackholed connection', () => {
  it('detects it within pingIntervalMs + pongTimeoutMs, reconnects and resumes without loss', async () => {
    const { log, proxy, url } = await stack();
    const client = new WsClient({
      url,
      token: TOKEN,
      pingIntervalMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
      initialReconnectDelayMs: 50,
    });
    cleanups.push(() => client.close());
    const events: JobEvent[] = [];
    client.on('event', (e) => events.push(e));
    client.subscribe('job-a');
    await once(client, 'open');
    log.append('job-a');
    log.append('job-a');
    await waitFor('2 events', () => events.length === 2);

    const start = performance.now();
    proxy.blackhole(); // established connections only: the reconnect gets through
    log.append('job-a'); // lost in the hole on the old connection
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    const detectedAfterMs = performance.now() - start;
    expect(info.error).toBeInstanceOf(WsHeartbeatTimeoutError);
    expect(info.error).toMatchObject({ code: 'TETHER_WS_HEARTBEAT_TIMEOUT', retryable: true });
    expect(info.reason).toBe('failure');
    expect(detectedAfterMs).toBeLessThanOrEqual(DETECTION_BOUND_MS);

    await waitFor('the event lost in the hole, via resume', () => events.length === 3, 5000);
    log.append('job-a');
    await waitFor('a live event on the new connection', () => events.length === 4);
    expect(events.map((e) => e.id)).toEqual(log.ids('job-a'));
  });

  it('replaces a connection whose peer stops answering pings (a hung gateway process)', async () => {
    const { gw } = await stack();
    const client = new WsClient({
      url: gw.url,
      token: TOKEN,
      pingIntervalMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
      initialReconnectDelayMs: 50,
    });
    cleanups.push(() => client.close());
    await once(client, 'open');
    gw.answerPings = false;
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    expect(info.error).toBeInstanceOf(WsHeartbeatTimeoutError);
    gw.answerPings = true;
    await waitFor('a healthy connection', () => client.state === 'open');
    expect(gw.accepted.length).toBeGreaterThanOrEqual(2);
  });

  it('CONTROL: a plain ws client without heartbeat notices nothing in the same time', async () => {
    const { log, proxy, url } = await stack();
    const naive = new WebSocket(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    cleanups.push(() => naive.terminate());
    const received: string[] = [];
    let closed = false;
    naive.on('message', (raw) => received.push((JSON.parse(raw.toString()) as JobEvent).id));
    naive.on('close', () => (closed = true));
    naive.on('error', () => {});
    await once(naive, 'open');
    naive.send(JSON.stringify({ op: 'subscribe', jobId: 'job-a' }));
    log.append('job-a');
    await waitFor('the first event', () => received.length === 1);

    proxy.blackhole();
    log.append('job-a');
    await new Promise((r) => setTimeout(r, DETECTION_BOUND_MS));
    expect(closed).toBe(false);
    expect(naive.readyState).toBe(WebSocket.OPEN); // it still believes it is connected…
    expect(received).toHaveLength(1); // …while the event is gone
  });
});
