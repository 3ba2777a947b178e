import { describeAppContract } from '@tether/devstack/app-contract';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import WebSocket from 'ws';

const secret = 'a-dev-secret-of-at-least-32-characters';

describeAppContract('ws-gateway', {
  entry: new URL('../src/main.ts', import.meta.url).pathname,
  async whileRunning(app) {
    const url = `ws://127.0.0.1:${app.port}/v1/stream`;
    // No token: refused before the upgrade.
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (req, res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
    // A good token: upgraded, and an unknown job answers not_found (the contract's database was
    // never migrated, so the gateway tells the client to come back later instead).
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${jwt}` } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ op: 'subscribe', jobId: crypto.randomUUID() }));
    expect(await closed).toBe(1013);
  },
});
