/**
 * The whole platform behind a real kernel NAT that forgets connections idle for 3 s (npm start
 * --nat 3): after every pooled connection of the apps has idled past it, a job still goes through
 * the API, the worker and the gateway — the libs replace the dead connections the NAT left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalStack, type StackDescription } from '../src/stack.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'tether-stack-nat-'));
const stack = new LocalStack({ freePorts: true, stateDir, natIdleTimeoutS: 3, log: () => {} });
let d: StackDescription;

beforeAll(async () => {
  d = await stack.up();
}, 180_000);

afterAll(async () => {
  await stack.down();
  rmSync(stateDir, { recursive: true, force: true });
});

async function runJob(): Promise<{ status: number; events: string[] }> {
  const auth = { authorization: `Bearer ${d.token}` };
  const created = await fetch(`${d.api}/v1/jobs`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demo.sleep', payload: { ms: 300, steps: 2 } }),
    signal: AbortSignal.timeout(30_000),
  });
  const { id } = (await created.json()) as { id: string };
  const ws = new WebSocket(d.ws, { headers: auth });
  const events: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no final event; got ${events.join(',')}`)), 60_000);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', jobId: id })));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string };
      if (!frame.type) return;
      events.push(frame.type);
      if (frame.type === 'succeeded' || frame.type === 'failed') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('error', reject);
  });
  ws.close();
  return { status: created.status, events };
}

it('a job goes through API, worker and gateway before and after every connection idled past the NAT', async () => {
  const expected = ['queued', 'running', 'progress', 'progress', 'succeeded'];
  expect(await runJob()).toEqual({ status: 202, events: expected });
  await sleep(6_000); // twice the NAT's idle timeout: every idle pooled connection is now dead
  expect(await runJob()).toEqual({ status: 202, events: expected });
}, 180_000);
