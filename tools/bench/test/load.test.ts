import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyTally, fixedRate, fixedRateHttp, measurement } from '../src/load.ts';

describe('fixedRateHttp (open loop, in its own process)', () => {
  let server: Server;
  let url: string;
  let served = 0;
  let stallAt = -1;
  beforeAll(async () => {
    server = createServer((request, response) => {
      served++;
      if (served === stallAt) {
        // Block this process (the server's) for 400 ms: every request due meanwhile queues behind it.
        const until = Date.now() + 400;
        while (Date.now() < until);
      }
      response.writeHead(request.url === '/missing' ? 404 : 200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends exactly rate x duration requests and counts the queueing behind a stall (coordinated omission)', async () => {
    served = 0;
    stallAt = 60;
    const tally = await fixedRateHttp({ url: `${url}/ok` }, 200, 1_000);
    expect(tally.ops).toBe(200);
    expect(tally.errors).toBe(0);
    expect(tally.latenciesMs).toHaveLength(200);
    // The ~80 requests due during the stall each waited for it, measured from when they were due; a
    // closed-loop client (one caller) would have recorded a single slow request.
    const queued = tally.latenciesMs.filter((ms) => ms >= 100).length;
    expect(queued).toBeGreaterThanOrEqual(20);
    const m = measurement(tally);
    expect(m.samples).toHaveLength(200);
    expect(m.p99Ms).toBeGreaterThanOrEqual(100);
  });

  it('counts an unexpected status as an error, not as a latency', async () => {
    stallAt = -1;
    const tally = await fixedRateHttp({ url: `${url}/missing` }, 50, 200);
    expect(tally.ops).toBe(10);
    expect(tally.errors).toBe(10);
    expect(tally.latenciesMs).toHaveLength(0);
  });
});

describe('fixedRate marks', () => {
  it('records each mark an op reports as a latency from the time the op was due', async () => {
    const tally = emptyTally();
    await fixedRate(
      async (due) => {
        await new Promise((r) => setTimeout(r, 5));
        return { marks: { started: (due as number) + 2, halfway: (due as number) + 3 } };
      },
      100,
      100,
      tally,
    );
    expect(tally.ops).toBe(10);
    expect(tally.marksMs?.['started']).toEqual(Array(10).fill(2));
    expect(tally.marksMs?.['halfway']).toEqual(Array(10).fill(3));
  });
});
