import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WsClient } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'close-token';
let gw: TestGateway;
const log = new EventLog();
beforeAll(async () => {
  gw = await TestGateway.start({ token: TOKEN, log });
});
afterAll(() => gw.stop());

/** Timers and sockets alive in this process, by kind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo())
    if (kind === 'Timeout' || kind === 'TCPSocketWrap') counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Kinds with more live handles now than at `baseline` (vitest's own timers may come and go meanwhile). */
function added(baseline: Record<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, count] of Object.entries(handles()))
    if (count > (baseline[kind] ?? 0)) extra[kind] = count - (baseline[kind] ?? 0);
  return extra;
}

describe('WsClient.close()', () => {
  it('leaves no timer or socket behind and never reconnects afterwards', async () => {
    const baseline = handles();
    const client = new WsClient({
      url: gw.url,
      token: TOKEN,
      pingIntervalMs: 50,
      pongTimeoutMs: 50,
      stableAfterMs: 10_000,
    });
    client.subscribe('job-a');
    await once(client, 'open');
    log.append('job-a');
    await once(client, 'event');
    expect(added(baseline)).toMatchObject({ TCPSocketWrap: 2 }); // the test sees both ends of the client's socket…
    const accepted = gw.accepted.length;
    await client.close();
    expect(client.state).toBe('closed');
    // …and sees them gone (the server's side of the socket closes a moment after ours).
    await waitFor('the handles to go', () => Object.keys(added(baseline)).length === 0, 2000);
    await new Promise((r) => setTimeout(r, 200));
    expect(added(baseline)).toEqual({});
    expect(gw.accepted.length).toBe(accepted);
    expect(gw.clientCount).toBe(0);
  });

  it('cancels a pending reconnect', async () => {
    const baseline = handles();
    const client = new WsClient({ url: gw.url, token: TOKEN, initialReconnectDelayMs: 5000 });
    await once(client, 'open');
    const accepted = gw.accepted.length;
    gw.terminateAll();
    await once(client, 'disconnected');
    expect(client.state).toBe('waiting');
    await client.close();
    await waitFor('the handles to go', () => Object.keys(added(baseline)).length === 0, 2000);
    expect(added(baseline)).toEqual({});
    expect(gw.accepted.length).toBe(accepted);
    expect(await client.whenClosed()).toBeUndefined();
  });
});
