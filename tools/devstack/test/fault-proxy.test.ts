import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canDropPackets, FaultProxy } from '../src/index.ts';

/** An echo server: the simplest upstream that shows whether bytes flow. */
function echoServer(): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  return once(socket, 'connect').then(() => socket);
}

/** Sends a line and resolves with the echo, or rejects after `ms`. */
function roundTrip(socket: Socket, ms = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo')), ms);
    socket.once('data', (chunk) => {
      clearTimeout(timer);
      resolve(chunk.toString());
    });
    socket.write('ping');
  });
}

describe('FaultProxy', () => {
  let upstream: Server;
  let proxy: FaultProxy;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    upstream = await echoServer();
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await proxy?.close();
  });
  afterAll(() => upstream.close());

  async function client(): Promise<Socket> {
    const socket = await open(proxy.port);
    socket.on('error', () => {});
    sockets.push(socket);
    return socket;
  }

  it('forwards bytes both ways', async () => {
    proxy = await FaultProxy.start({ targetPort: (upstream.address() as { port: number }).port });
    const socket = await client();
    expect(await roundTrip(socket)).toBe('ping');
    expect(proxy.connectionCount).toBe(1);
  });

  it('blackholes established connections silently while new ones still work', async () => {
    proxy = await FaultProxy.start({ targetPort: (upstream.address() as { port: number }).port });
    const victim = await client();
    expect(await roundTrip(victim)).toBe('ping');
    let closed = false;
    victim.on('close', () => (closed = true));
    proxy.blackhole();
    await expect(roundTrip(victim, 500)).rejects.toThrow('no echo');
    expect(closed).toBe(false); // no FIN, no RST
    const fresh = await client();
    expect(await roundTrip(fresh)).toBe('ping');
  });

  it('drops packets in the kernel: TCP keepalive detects the dead peer (a userspace stall could not)', async () => {
    expect(canDropPackets(), 'kernel drops need nftables and root: apt-get install nftables').toBe(true);
    proxy = await FaultProxy.start({ targetPort: (upstream.address() as { port: number }).port });
    const victim = await client();
    victim.setKeepAlive(true, 1_000);
    expect(await roundTrip(victim)).toBe('ping');
    const started = Date.now();
    proxy.blackhole();
    const [error] = (await once(victim, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ETIMEDOUT');
    // libuv: first probe after 1 s, then 10 probes 1 s apart (FIELD-NOTES): about 11 s.
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('blackholes new connections: connects hang instead of failing', async () => {
    proxy = await FaultProxy.start({ targetPort: (upstream.address() as { port: number }).port });
    proxy.blackhole({ newConnections: true });
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    sockets.push(socket);
    const outcome = await Promise.race([
      once(socket, 'connect')
        .then(() => roundTrip(socket, 500))
        .then(
          () => 'echoed',
          () => 'silent',
        ),
      new Promise((r) => setTimeout(() => r('silent'), 1_000)),
    ]);
    expect(outcome).toBe('silent');
    await proxy.heal();
    expect(await roundTrip(await client())).toBe('ping');
  });

  it('an upstream that hangs up during a blackhole: its client still gets the RST at heal, and close() still ends it', async () => {
    // An upstream that can hang up on its own, as Postgres does when it restarts.
    const held: Socket[] = [];
    const hangsUp = createServer((socket) => {
      socket.on('error', () => {});
      held.push(socket);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => hangsUp.listen(0, '127.0.0.1', resolve));
    const hangUp = async () => {
      for (const socket of held.splice(0)) socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
    };
    try {
      proxy = await FaultProxy.start({ targetPort: (hangsUp.address() as { port: number }).port });
      const first = await client();
      expect(await roundTrip(first)).toBe('ping');
      proxy.blackhole();
      await hangUp();
      expect(first.destroyed).toBe(false); // the client heard nothing
      const reset = new Promise<NodeJS.ErrnoException>((resolve) => first.once('error', resolve));
      await proxy.heal();
      // The proxy forgot the connection while its packets were dropped: the client's next segment
      // meets a kernel RST (before the fix, a link whose upstream had hung up was not forgotten: its
      // client socket stayed open and answered, and nothing ever reset it).
      first.write('after the heal');
      const outcome = await Promise.race([
        reset.then((error) => error.code),
        new Promise((r) => setTimeout(() => r('no reset within 3 s'), 3_000)),
      ]);
      expect(outcome).toBe('ECONNRESET');

      // The same without a heal: close() must end the client side the proxy still holds.
      const second = await client();
      expect(await roundTrip(second)).toBe('ping');
      proxy.blackhole();
      await hangUp();
      const ended = once(second, 'close');
      const closed = await Promise.race([
        proxy.close().then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('still open after 3 s'), 3_000)),
      ]);
      expect(closed).toBe('closed');
      await ended;
    } finally {
      hangsUp.close();
    }
  });

  it('resets established connections with RST and refuses new ones', async () => {
    proxy = await FaultProxy.start({ targetPort: (upstream.address() as { port: number }).port });
    const victim = await client();
    expect(await roundTrip(victim)).toBe('ping');
    const errored = new Promise<NodeJS.ErrnoException>((resolve) => victim.once('error', resolve));
    proxy.reset();
    expect((await errored).code).toBe('ECONNRESET');

    await proxy.refuse();
    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    await proxy.heal();
    expect(await roundTrip(await client())).toBe('ping');
  });
});
