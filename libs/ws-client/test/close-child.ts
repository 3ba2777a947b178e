// Run by close.test.ts in a fresh process, where the only timers and sockets are the client's:
// after close() none may be left (printed as JSON), and the process must exit on its own.
import { once } from 'node:events';
import { WsClient } from '../src/index.ts';

const [url, token, mode] = process.argv.slice(2) as [string, string, 'open' | 'waiting'];
const client = new WsClient({
  url,
  token,
  pingIntervalMs: 50,
  pongTimeoutMs: 50,
  stableAfterMs: 10_000,
  initialReconnectDelayMs: 5000,
});
client.subscribe('job-a');
await once(client, 'open');
if (mode === 'open') {
  await once(client, 'event');
} else {
  // Ask the parent to cut the connection, then close while the 5 s reconnect is pending.
  process.send?.('terminate-me');
  await once(client, 'disconnected');
}
const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap');
await client.close();
const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap');
process.send?.({ state: client.state, before, after });
process.disconnect?.();
