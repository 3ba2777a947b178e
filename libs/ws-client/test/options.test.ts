import { describe, expect, it } from 'vitest';
import { WsClient, type WsClientOptions } from '../src/index.ts';

const valid: WsClientOptions = { url: 'ws://127.0.0.1:1/v1/stream', token: 't' };

describe('WsClient options', () => {
  it.each([
    [{ url: 'http://example.test/v1/stream' }, 'url', /ws: or wss:/],
    [{ url: 'not a url' }, 'url', /not a valid URL/],
    [{ url: 'ws://h/v1/stream?access_token=abc' }, 'url', /must not carry access_token/],
    [{ token: '' }, 'token', /non-empty/],
    [{ tokenIn: 'cookie' }, 'tokenIn', /must be either "header" or "query", got "cookie"$/],
    [{ pingIntervalMs: 0 }, 'pingIntervalMs', /between 10 and/],
    [{ pongTimeoutMs: Number.NaN }, 'pongTimeoutMs', /must be a number between 10 and 2147483647, got NaN$/],
    [
      { connectTimeoutMs: '5000' },
      'connectTimeoutMs',
      /must be a number between 1 and 2147483647, got "5000"$/,
    ],
    [{ maxReconnectDelayMs: 2 ** 31 }, 'maxReconnectDelayMs', /between/],
    [
      { initialReconnectDelayMs: 500, maxReconnectDelayMs: 100 },
      'maxReconnectDelayMs',
      />= initialReconnectDelayMs/,
    ],
    [{ restartReconnectDelayMs: -1 }, 'restartReconnectDelayMs', /between 0/],
    [{ random: 0.5 }, 'random', /function/],
    [{ tokenTimeoutMs: 0 }, 'tokenTimeoutMs', /between 1/],
    [{ restartsBeforeBackoff: 1.5 }, 'restartsBeforeBackoff', /must be an integer >= 0, got 1.5$/],
    [{ ws: 'yes' }, 'ws', /object of ws options/],
    [{ ws: { maxPayload: 0 } }, 'ws.maxPayload', /positive integer \(bytes\)/],
    [{ ws: { agent: {} } }, 'ws.agent', /http.Agent/],
    [{ ws: { ca: 42 } }, 'ws.ca', /PEM/],
    [{ ws: { rejectUnauthorized: 'no' } }, 'ws.rejectUnauthorized', /boolean/],
    [{ ws: { family: 5 } }, 'ws.family', /0, 4 or 6/],
    [{ ws: { headers: {} } }, 'ws.headers', /set by the client: use token/],
    [{ ws: { maxPayLoad: 10 } }, 'ws.maxPayLoad', /not a supported ws option; supported: agent, ca/],
  ])('rejects %o naming %s', (bad, field, message) => {
    const construct = () => new WsClient({ ...valid, ...(bad as object) } as WsClientOptions);
    expect(construct).toThrow(
      expect.objectContaining({ code: 'TETHER_INVALID_OPTION', field, retryable: false }),
    );
    expect(construct).toThrow(new RegExp(`^${field} `));
    expect(construct).toThrow(message);
  });

  it('never echoes a TLS key or passphrase in an option error', () => {
    const construct = () =>
      new WsClient({
        ...valid,
        ws: { key: 'PRIVATE-KEY-abc' as string, passphrase: 99 as unknown as string },
      });
    expect(construct).toThrow(/^ws.passphrase must be a string$/);
    expect(construct).toThrow(expect.objectContaining({ message: expect.not.stringContaining('99') }));
  });

  it('never echoes the token in an option error', () => {
    expect(() => new WsClient({ url: 'ws://h/v1/stream?access_token=topsecret', token: 't' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('topsecret') }),
    );
  });

  it('rejects a bad jobId or after at subscribe, naming it', async () => {
    const client = new WsClient({ ...valid, initialReconnectDelayMs: 1000 });
    expect(() => client.subscribe('')).toThrow(/^jobId /);
    expect(() => client.subscribe('job', { after: 7 as unknown as string })).toThrow(/^after /);
    await client.close();
  });
});
