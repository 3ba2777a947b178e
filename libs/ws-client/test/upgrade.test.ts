import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DisconnectInfo, WsAuthError, WsClient, WsRejectedError } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'right-token-9f8e7d';
let gw: TestGateway;
beforeAll(async () => {
  gw = await TestGateway.start({ token: TOKEN, log: new EventLog() });
});
afterAll(() => gw.stop());

describe('WsClient upgrade answers and auth closes', () => {
  it('stops with a typed, non-retryable error on HTTP 401 instead of reconnecting', async () => {
    const rejectedBefore = gw.rejected;
    const wrong = 'wrong-token-a1b2c3';
    const client = new WsClient({ url: gw.url, token: wrong, initialReconnectDelayMs: 10 });
    const reconnects: unknown[] = [];
    client.on('disconnected', (d) => reconnects.push(d));
    const error = await client.whenClosed();
    expect(error).toBeInstanceOf(WsAuthError);
    expect(error).toMatchObject({ code: 'TETHER_WS_AUTH_FAILED', retryable: false, status: 401 });
    expect(error!.message).not.toContain(wrong);
    expect(client.state).toBe('closed');
    // Wait long enough for many 10 ms reconnects had there been a loop.
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.rejected - rejectedBefore).toBe(1);
    expect(reconnects).toEqual([]);
    expect(() => client.subscribe('job-a')).toThrow(
      expect.objectContaining({ code: 'TETHER_WS_CLIENT_CLOSED' }),
    );
    await client.close();
  });

  it('stops on a 4401 close after the upgrade (token revoked)', async () => {
    const client = new WsClient({ url: gw.url, token: TOKEN, initialReconnectDelayMs: 10 });
    await once(client, 'open');
    const acceptedBefore = gw.accepted.length;
    gw.closeAll(4401, 'token expired');
    const error = await client.whenClosed();
    expect(error).toMatchObject({ code: 'TETHER_WS_AUTH_FAILED', status: 4401, retryable: false });
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.accepted.length).toBe(acceptedBefore);
  });

  it('passes the token as access_token with tokenIn: query, and asks a token function on every connect', async () => {
    let calls = 0;
    const client = new WsClient({
      url: gw.url,
      tokenIn: 'query',
      token: async () => (calls++, TOKEN),
      restartReconnectDelayMs: 10,
    });
    await once(client, 'open');
    gw.closeAll(1012);
    await waitFor('the reconnect', () => calls === 2 && client.state === 'open');
    await client.close();
    expect(await client.whenClosed()).toBeUndefined();
  });

  it('treats a token no header can carry as a failed connect (backoff), never an unhandled rejection', async () => {
    let calls = 0;
    const client = new WsClient({
      url: gw.url,
      token: () => (++calls === 1 ? 'bad\ntoken' : TOKEN),
      initialReconnectDelayMs: 10,
    });
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    expect(info).toMatchObject({ reason: 'failure', failures: 1 });
    expect(info.error).toMatchObject({ code: 'TETHER_WS_CONNECTION_LOST', retryable: true });
    expect(info.error!.message).not.toContain('bad');
    await once(client, 'open');
    await client.close();
  });

  it('retries a 503 on the upgrade with backoff instead of stopping', async () => {
    gw.upgradeStatus = 503;
    const client = new WsClient({ url: gw.url, token: TOKEN, initialReconnectDelayMs: 20 });
    const disconnects: DisconnectInfo[] = [];
    client.on('disconnected', (d) => disconnects.push(d));
    await waitFor('two refused upgrades', () => disconnects.length >= 2);
    gw.upgradeStatus = undefined;
    await once(client, 'open');
    expect(disconnects.slice(0, 2).map((d) => [d.reason, d.failures, d.error?.code])).toEqual([
      ['failure', 1, 'TETHER_WS_CONNECTION_LOST'],
      ['failure', 2, 'TETHER_WS_CONNECTION_LOST'],
    ]);
    expect(disconnects[0]!.error!.message).toContain('HTTP 503');
    await client.close();
  });

  it('stops with TETHER_WS_REJECTED on a 404 (wrong path)', async () => {
    const client = new WsClient({ url: gw.url.replace('/v1/stream', '/nope'), token: TOKEN });
    const error = await client.whenClosed();
    expect(error).toBeInstanceOf(WsRejectedError);
    expect(error).toMatchObject({ code: 'TETHER_WS_REJECTED', status: 404, retryable: false });
  });
});
