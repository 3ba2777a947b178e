// Follows a job's events through a gateway restart. Self-contained: it starts a tiny gateway on the
// real `ws` package (the test one), restarts it with 1012 mid-stream, and prints what arrives.
//   node --conditions=@tether/source examples/follow-job.ts
import { once } from 'node:events';
// eslint-disable-next-line @nx/enforce-module-boundaries -- imported by package name, exactly as an app does
import { WsClient } from '@tether/ws-client';
import { EventLog, TestGateway } from '../test/gateway.ts';

const log = new EventLog();
let gateway = await TestGateway.start({ token: 'dev-token', log });

const client = new WsClient({
  url: gateway.url,
  token: 'dev-token',
  restartReconnectDelayMs: 200,
  pingIntervalMs: 5000,
});
client.on('event', (event) => console.log(`event ${event.id} ${event.type}`));
client.on('disconnected', ({ reason, code, delayMs }) =>
  console.log(`disconnected (${code}, ${reason}); reconnecting in ${Math.round(delayMs)} ms`),
);
client.on('open', () =>
  console.log(`connected; resuming job-1 after ${client.lastEventId('job-1') ?? 'the start'}`),
);
client.subscribe('job-1');

await once(client, 'open');
log.append('job-1', 'progress', { percent: 50 });
await new Promise((resolve) => setTimeout(resolve, 100));

const port = gateway.port;
await gateway.stop(1012); // the pod is being replaced
log.append('job-1', 'succeeded', { result: 42 }); // published while the client is away
gateway = await TestGateway.start({ token: 'dev-token', log, port });

await once(client, 'event');
await client.close();
await gateway.stop();
