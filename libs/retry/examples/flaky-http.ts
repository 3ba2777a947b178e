// A dependency that answers 503 + Retry-After twice, then 200; called through a retry policy with a
// budget and a breaker. Run: node --conditions=@tether/source examples/flaky-http.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
// eslint-disable-next-line @nx/enforce-module-boundaries -- imported by package name, exactly as an app does
import { CircuitBreaker, RetryBudget, classify, createRetryPolicy } from '@tether/retry';

let requests = 0;
const server = createServer((_req, res) => {
  requests++;
  if (requests <= 2) res.writeHead(503, { 'retry-after': '0' }).end();
  else res.writeHead(200, { 'content-type': 'application/json' }).end('{"balance":42}');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/balance`;

// One budget and one breaker per dependency, shared by every policy that calls it.
const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 10 });
const breaker = new CircuitBreaker({ name: 'billing', consecutiveFailures: 5, halfOpenAfterMs: 10_000 });
const billing = createRetryPolicy({
  name: 'billing',
  maxAttempts: 4,
  deadlineMs: 3000,
  initialDelayMs: 50,
  budget,
  breaker,
});

const body = await billing.execute(
  async ({ signal, attempt }) => {
    const response = await fetch(url, { signal });
    if (!response.ok) {
      console.log(`attempt ${attempt}: HTTP ${response.status} -> ${classify(response).reason}`);
      throw response; // classify() reads status and Retry-After from it
    }
    return response.json();
  },
  { idempotent: true, name: 'GET /balance' },
);
console.log(`after ${requests} requests:`, body);
server.close();
