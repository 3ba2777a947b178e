import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { FaultProxy } from '@tether/devstack';
import { getJob } from '@tether/jobs';
import { type ResetInfo, WsClient } from '@tether/ws-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  newJob,
  range,
  relay,
  runJob,
  type RunningGateway,
  type Stack,
  startGateway,
  startStack,
  succeed,
  TestClient,
  token,
  until,
} from './support.ts';

let stack: Stack;
let gw: RunningGateway;
const clients: TestClient[] = [];

function client(bearer: string | undefined, options = {}): TestClient {
  const c = new TestClient(gw.url, bearer, options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  stack = await startStack();
  gw = await startGateway(stack);
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

describe('following a job', () => {
  it('delivers every event in order, then succeeded, each once', async () => {
    const jobId = await newJob(stack, 'alice');
    const c = client(await token('alice'));
    await c.opened;
    c.send({ op: 'subscribe', jobId });
    await c.until(() => c.frames.some((f) => f.op === 'subscribed'), 10_000, 'subscribed');
    await runJob(stack, jobId, 5);
    await relay(stack);
    // queued (1), running (2), progress 3..7, succeeded (8)
    await c.until(() => c.ids(jobId).includes(8), 10_000, 'succeeded');
    expect(c.ids(jobId)).toEqual(range(1, 8));
    expect(c.events(jobId).map((f) => f.type)).toEqual([
      'queued',
      'running',
      ...Array(5).fill('progress'),
      'succeeded',
    ]);
    expect(c.frames.findIndex((f) => f.op === 'subscribed')).toBe(1); // after the missed `queued`
  });

  it('resumes after an event id with nothing missed or repeated, and drops the relay’s duplicates', async () => {
    const jobId = await newJob(stack, 'alice');
    await runJob(stack, jobId, 3);
    const c = client(await token('alice'));
    await c.opened;
    c.send({ op: 'subscribe', jobId, after: '3' });
    await c.until(() => c.frames.some((f) => f.op === 'subscribed'));
    await relay(stack, { twice: true }); // at-least-once: every entry twice in the stream
    await new Promise((r) => setTimeout(r, 500));
    expect(c.ids(jobId)).toEqual(range(4, 6));
  });

  it('fills a gap in the stream from Postgres instead of skipping it', async () => {
    const jobId = await newJob(stack, 'alice');
    const c = client(await token('alice'));
    await c.opened;
    c.send({ op: 'subscribe', jobId });
    await c.until(() => c.frames.some((f) => f.op === 'subscribed'));
    await runJob(stack, jobId, 4);
    await relay(stack, { skipSeq: 4 }); // entry 4 never reached the stream
    await c.until(() => c.ids(jobId).includes(7));
    expect(c.ids(jobId)).toEqual(range(1, 7));
  });

  it('answers reset when history no longer covers the request, and reset for an id the job never had', async () => {
    const small = await startGateway(stack, { replayMaxEvents: 3 });
    try {
      const jobId = await newJob(stack, 'alice');
      await runJob(stack, jobId, 6);
      const c = new TestClient(small.url, await token('alice'));
      clients.push(c);
      await c.opened;
      c.send({ op: 'subscribe', jobId, after: '1' });
      await c.until(() => c.frames.filter((f) => f.op === 'reset').length === 1);
      c.send({ op: 'subscribe', jobId, after: '99' });
      await c.until(() => c.frames.filter((f) => f.op === 'reset').length === 2);
      expect(c.frames.filter((f) => f.op === 'reset').map((f) => f.reason)).toEqual([
        'history_exceeded',
        'unknown_event_id',
      ]);
      expect(c.events(jobId)).toEqual([]);
      c.send({ op: 'subscribe', jobId, after: '7' }); // the client re-read the job: 9 events, 2 missed
      await c.until(() => c.frames.some((f) => f.op === 'subscribed'));
      expect(c.ids(jobId)).toEqual([8, 9]);
    } finally {
      await small.close();
    }
  });
});

describe('Redis restarted mid-job', () => {
  it('keeps delivering from Postgres while the stream is down, then every event exactly once after the relay catches up', async () => {
    const jobId = await newJob(stack, 'alice');
    const c = client(await token('alice'));
    await c.opened;
    c.send({ op: 'subscribe', jobId });
    await c.until(() => c.frames.some((f) => f.op === 'subscribed'));
    await stack.redis.stop();
    try {
      await runJob(stack, jobId, 4); // events committed; the relay cannot reach Redis
      await c.until(() => c.ids(jobId).includes(7), 15_000, 'events from the Postgres fallback');
      expect(gw.gateway.streamHealthy).toBe(false);
    } finally {
      await stack.redis.start();
    }
    await relay(stack); // the relay catches up: the stream now repeats what the client has
    await c.until(() => gw.gateway.streamHealthy, 15_000, 'stream readable again');
    await new Promise((r) => setTimeout(r, 500));
    expect(c.ids(jobId)).toEqual(range(1, 7));
  });
});

describe('auth and ownership', () => {
  it('refuses a missing or invalid token with HTTP 401 before the upgrade', async () => {
    await expect(client(undefined).opened).rejects.toThrow('HTTP 401');
    await expect(client('not-a-token').opened).rejects.toThrow('HTTP 401');
    await expect(client(await token('alice', Math.floor(Date.now() / 1000) - 60)).opened).rejects.toThrow(
      'HTTP 401',
    );
  });

  it('accepts the token as the access_token query parameter (browsers cannot set headers)', async () => {
    const c = new TestClient(`${gw.url}?access_token=${await token('alice')}`, undefined);
    clients.push(c);
    await c.opened;
  });

  it('someone else’s job looks exactly like an unknown one, and none of its events reach the socket', async () => {
    const jobId = await newJob(stack, 'alice');
    const mallory = client(await token('mallory'));
    await mallory.opened;
    mallory.send({ op: 'subscribe', jobId });
    mallory.send({ op: 'subscribe', jobId: crypto.randomUUID() });
    await mallory.until(() => mallory.frames.filter((f) => f.op === 'error').length === 2);
    const [theirs, unknown] = mallory.frames.filter((f) => f.op === 'error');
    expect({ ...theirs, jobId: undefined }).toEqual({ ...unknown, jobId: undefined });
    expect(theirs?.code).toBe('not_found');
    await runJob(stack, jobId, 2);
    await relay(stack);
    await new Promise((r) => setTimeout(r, 500));
    expect(mallory.frames.filter((f) => f.op === undefined)).toEqual([]);
  });

  it('closes with 4401 when the token expires while connected, never before its exp, each on its own exp', async () => {
    // 4 s ahead, so a loaded machine still opens the sockets before the first token expires; the
    // second expires 4 s after the first, well after the sweep (1 s) closed the first.
    const exp = Math.floor(Date.now() / 1000) + 4;
    const [soon, later, lasting] = [
      client(await token('alice', exp)),
      client(await token('alice', exp + 4)),
      client(await token('alice')),
    ];
    const closedAt = new Map<TestClient, number>();
    for (const c of [soon, later, lasting]) c.ws.on('close', () => closedAt.set(c, Date.now()));
    await Promise.all([soon.opened, later.opened, lasting.opened]);
    await soon.until(() => soon.closed !== undefined, 10_000, 'the first expiry');
    expect(soon.closed?.code).toBe(4401);
    expect(closedAt.get(soon)).toBeGreaterThanOrEqual(exp * 1000);
    expect(later.closed).toBeUndefined();
    await later.until(() => later.closed !== undefined, 10_000, 'the second expiry');
    expect(later.closed?.code).toBe(4401);
    expect(closedAt.get(later)).toBeGreaterThanOrEqual((exp + 4) * 1000);
    // Still served: the sweep that closed the others left it alone.
    const jobId = await newJob(stack, 'alice');
    lasting.send({ op: 'subscribe', jobId });
    await lasting.until(() => lasting.frames.some((f) => f.op === 'subscribed'));
    expect(lasting.closed).toBeUndefined();
  });
});

describe('limits and bad input', () => {
  it('answers non-JSON, unknown ops and bad ids with bad_request, and stays up for everyone', async () => {
    const c = client(await token('alice'));
    await c.opened;
    c.send('not json');
    c.send({ op: 'dance' });
    c.send({ op: 'subscribe', jobId: 'not-a-uuid' });
    c.send({ op: 'subscribe', jobId: crypto.randomUUID(), after: '-1' });
    await c.until(() => c.frames.length === 4);
    expect(c.frames.map((f) => [f.op, f.code])).toEqual(Array(4).fill(['error', 'bad_request']));
    expect(c.closed).toBeUndefined();
  });

  it('closes an oversized frame with 1009', async () => {
    const c = client(await token('alice'));
    await c.opened;
    c.send('x'.repeat(10_000));
    await c.until(() => c.closed !== undefined);
    expect(c.closed?.code).toBe(1009);
  });

  it('rate-limits a flood of subscribes, caps subscriptions per connection, and closes a client that keeps flooding with 1008', async () => {
    const limited = await startGateway(stack, {
      maxSubscriptions: 3,
      messageBurst: 5,
      messagesPerSecond: 1,
      maxRateLimited: 20,
    });
    try {
      const jobs = await Promise.all(range(1, 4).map(() => newJob(stack, 'alice')));
      const c = new TestClient(limited.url, await token('alice'));
      const bystander = new TestClient(limited.url, await token('bob'));
      clients.push(c, bystander);
      await Promise.all([c.opened, bystander.opened]);
      for (const jobId of jobs) c.send({ op: 'subscribe', jobId });
      await c.until(() => c.frames.some((f) => f.code === 'too_many_subscriptions'));
      for (let i = 0; i < 40; i++) c.send({ op: 'unsubscribe', jobId: jobs[0] });
      await c.until(() => c.closed !== undefined);
      expect(c.frames.some((f) => f.code === 'rate_limited')).toBe(true);
      expect(c.closed?.code).toBe(1008);
      const bobJob = await newJob(stack, 'bob');
      bystander.send({ op: 'subscribe', jobId: bobJob });
      await bystander.until(() => bystander.frames.some((f) => f.op === 'subscribed'));
    } finally {
      await limited.close();
    }
  });

  it('refuses more connections per user than allowed with HTTP 429', async () => {
    const limited = await startGateway(stack, { maxConnectionsPerUser: 2 });
    try {
      const bearer = await token('carol');
      const [a, b] = [new TestClient(limited.url, bearer), new TestClient(limited.url, bearer)];
      clients.push(a, b);
      await Promise.all([a.opened, b.opened]);
      const third = new TestClient(limited.url, bearer);
      clients.push(third);
      await expect(third.opened).rejects.toThrow('HTTP 429');
      // A closed connection gives its place back.
      a.close();
      await a.until(() => a.closed !== undefined);
      await until(async () => {
        const retry = new TestClient(limited.url, bearer);
        clients.push(retry);
        return retry.opened.then(
          () => true,
          () => false,
        );
      }, 'a connection once another closed');
    } finally {
      await limited.close();
    }
  });

  it('gives the place back when ws refuses the handshake after the token was accepted', async () => {
    const limited = await startGateway(stack, { maxConnectionsPerUser: 1 });
    try {
      const bearer = await token('dave');
      const { host, pathname } = new URL(limited.url);
      for (let i = 0; i < 2; i++) {
        const socket = connect(Number(new URL(limited.url).port), '127.0.0.1');
        socket.write(
          `GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\nAuthorization: Bearer ${bearer}\r\n\r\n`,
        );
        const [head] = (await once(socket, 'data')) as [Buffer];
        expect(head.toString().split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
        socket.destroy();
      }
      const c = new TestClient(limited.url, bearer);
      clients.push(c);
      await c.opened;
    } finally {
      await limited.close();
    }
  });
});

describe('slow consumers and dead peers', () => {
  it('closes a consumer whose unsent bytes pass the threshold with 1013, while 50 others on the gateway get every event', async () => {
    const tight = await startGateway(stack, { maxBufferedBytes: 256 * 1024, maxConnectionsPerUser: 60 });
    try {
      const heavy = await newJob(stack, 'alice');
      const light = await newJob(stack, 'bob');
      const slow = new TestClient(tight.url, await token('alice'));
      const bobToken = await token('bob');
      const others = range(1, 50).map(() => new TestClient(tight.url, bobToken));
      clients.push(slow, ...others);
      await Promise.all([slow.opened, ...others.map((o) => o.opened)]);
      slow.send({ op: 'subscribe', jobId: heavy });
      for (const o of others) o.send({ op: 'subscribe', jobId: light });
      await Promise.all(
        [slow, ...others].map((c) => c.until(() => c.frames.some((f) => f.op === 'subscribed'))),
      );
      // The slow consumer's network stops taking data: drop the gateway's packets to it in the kernel,
      // so its TCP send window closes and the bytes pile up in the gateway (loopback buffers would
      // otherwise absorb tens of MB). Loopback segments are 64 KB: the first window alone is ~640 KB.
      const table = `tether_gw_slow_${process.pid}`;
      const slowPort = (slow.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
      const gatewayPort = Number(new URL(tight.url).port);
      execFileSync('nft', ['add', 'table', 'inet', table]);
      execFileSync('nft', ['add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0 ; }']);
      execFileSync('nft', [
        'add',
        'rule',
        'inet',
        table,
        'out',
        'tcp',
        'sport',
        String(gatewayPort),
        'tcp',
        'dport',
        String(slowPort),
        'drop',
      ]);
      try {
        await Promise.all([
          runJob(stack, heavy, 40, { blob: 'x'.repeat(160 * 1024) }),
          runJob(stack, light, 10),
        ]);
        await relay(stack);
        await Promise.all(
          others.map((o) => o.until(() => o.ids(light).includes(13), 30_000, 'light job done')),
        );
        for (const o of others) expect(o.ids(light)).toEqual(range(1, 13));
        await slow.until(() => tight.gateway.stats.slowConsumersClosed === 1, 30_000, 'slow consumer closed');
        await slow.until(() => tight.gateway.wss.clients.size === 50, 10_000, 'slow socket gone');
        expect(others.every((o) => o.closed === undefined)).toBe(true);
      } finally {
        execFileSync('nft', ['delete', 'table', 'inet', table]);
      }
    } finally {
      await tight.close();
    }
  });

  it('terminates a peer that stops answering pings', async () => {
    const fast = await startGateway(stack, { pingIntervalMs: 300, pongTimeoutMs: 200 });
    try {
      const silent = new TestClient(fast.url, await token('alice'), { autoPong: false });
      const healthy = new TestClient(fast.url, await token('alice'));
      clients.push(silent, healthy);
      await Promise.all([silent.opened, healthy.opened]);
      await silent.until(() => silent.closed !== undefined, 5_000, 'termination');
      expect(silent.closed?.code).toBe(1006);
      expect(healthy.closed).toBeUndefined();
    } finally {
      await fast.close();
    }
  });
});

/** A client through a proxy that can cut it off; it records events, resets and re-read job states. */
async function follower(gw: RunningGateway, jobId: string, withOnReset: boolean) {
  const port = Number(new URL(gw.url).port);
  const proxy = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: port });
  const bearer = await token('alice');
  const seen = { ids: [] as number[], resets: [] as ResetInfo[], reread: [] as string[] };
  const client = new WsClient({
    url: gw.url.replace(`:${port}/`, `:${proxy.port}/`),
    token: bearer,
    initialReconnectDelayMs: 50,
    maxReconnectDelayMs: 200,
    ...(withOnReset
      ? {
          onReset: async ({ jobId: id }: { jobId: string }) => {
            const job = await getJob(stack.db, id, 'alice');
            seen.reread.push(job!.status);
            return String(job!.lastSeq);
          },
        }
      : {}),
  });
  client.on('event', (event) => seen.ids.push(Number(event.id)));
  client.on('reset', (info) => seen.resets.push(info));
  client.subscribe(jobId);
  return { client, proxy, seen };
}

describe('@tether/ws-client offline longer than the history covers (done-when 4)', () => {
  let small: RunningGateway;
  beforeAll(async () => {
    small = await startGateway(stack, { replayMaxEvents: 5 });
  });
  afterAll(() => small?.close());

  it.each([
    {
      withOnReset: true,
      name: 'with onReset: re-reads the job, resumes after its latest event, ends succeeded',
    },
    {
      withOnReset: false,
      name: 'CONTROL without onReset: the job is dropped, the final event never arrives',
    },
  ])('a client offline past the replay bound gets reset — $name', async ({ withOnReset }) => {
    const jobId = await newJob(stack, 'alice');
    const { client, proxy, seen } = await follower(small, jobId, withOnReset);
    try {
      await until(() => seen.ids.includes(1), 'queued delivered');
      // Offline: the established connection is reset and reconnects are refused.
      proxy.reset();
      await proxy.refuse();
      const leaseToken = await runJob(stack, jobId, 10, {}, async () => {}, { finish: false });
      await relay(stack);
      await proxy.heal();
      await until(() => seen.resets.length === 1, 'the reset handled');
      expect(seen.resets[0]).toMatchObject({ jobId, reason: 'history_exceeded', resumed: withOnReset });
      if (withOnReset) {
        // Events 2..11 are covered by the re-read job (running, 10 progress); only what follows arrives.
        expect(seen.reread).toEqual(['running']);
        expect(seen.resets[0]!.resumedAfter).toBe('12');
        await succeed(stack, jobId, leaseToken);
        await relay(stack);
        await until(() => seen.ids.includes(13), 'succeeded');
        expect(seen.ids).toEqual([1, 13]);
        expect(client.lastEventId(jobId)).toBe('13');
      } else {
        await succeed(stack, jobId, leaseToken);
        await relay(stack);
        await new Promise((r) => setTimeout(r, 1_000));
        expect(seen.ids).toEqual([1]);
        expect(client.lastEventId(jobId)).toBeUndefined();
      }
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
