import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFixture, type FixtureProcess } from './support/fixture-process.ts';

interface Job {
  id: string;
  ms: number;
  state: 'queued' | 'running' | 'done';
  claims: string[];
  completedBy?: string;
}

/** A job queue over real HTTP, standing in for the jobs table: claim, complete, requeue. */
class Queue {
  readonly jobs = new Map<string, Job>();
  readonly server: Server;
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const worker = String(req.headers['x-worker']);
        if (req.url === '/claim') {
          const job = [...this.jobs.values()].find((j) => j.state === 'queued');
          if (!job) return res.writeHead(204).end();
          job.state = 'running';
          job.claims.push(worker);
          return res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ id: job.id, ms: job.ms }));
        }
        const job = this.jobs.get((JSON.parse(body) as { id: string }).id)!;
        if (req.url === '/complete') {
          job.state = 'done';
          job.completedBy = worker;
        } else if (req.url === '/requeue') job.state = 'queued';
        res.writeHead(204).end();
      });
    });
  }
  add(id: string, ms: number): Job {
    const job: Job = { id, ms, state: 'queued', claims: [] };
    this.jobs.set(id, job);
    return job;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let queue: Queue;
const workers: FixtureProcess[] = [];
beforeEach(async () => {
  queue = new Queue();
  queue.server.listen(0, '127.0.0.1');
  await once(queue.server, 'listening');
});
afterEach(async () => {
  for (const w of workers.splice(0)) w.child.kill('SIGKILL');
  queue.server.closeAllConnections();
  queue.server.close();
});

async function worker(name: string, env: Record<string, string>): Promise<FixtureProcess> {
  const w = await startFixture('worker-app', {
    POD_ID: name,
    QUEUE_URL: queue.url,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    ...env,
  });
  workers.push(w);
  return w;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('worker shutdown with beacons', () => {
  it('waits for a running job to finish before exiting, and takes no new job meanwhile', async () => {
    const job = queue.add('short', 1500);
    const w = await worker('worker-a', { SHUTDOWN_TIMEOUT_MS: '5000' });
    await until(() => job.state === 'running', 5000);
    w.child.kill('SIGTERM');
    const next = queue.add('next', 100);
    expect((await w.exited).code).toBe(0);
    expect(job).toMatchObject({ state: 'done', completedBy: 'worker-a' });
    expect(next.claims).toEqual([]);
  });

  it('releases a job that outlives the deadline so it is requeued, and another worker picks it up', async () => {
    const job = queue.add('long', 3000);
    const a = await worker('worker-a', { SHUTDOWN_TIMEOUT_MS: '1000' });
    await until(() => job.state === 'running', 5000);
    a.child.kill('SIGTERM');
    const exit = await a.exited;
    expect(exit.code).toBe(1);
    expect(job.state).toBe('queued');
    expect(a.output()).toContain('worker-a requeued job long');
    const deadlineLine = a
      .output()
      .split('\n')
      .find((line) => line.includes('drain deadline reached'));
    expect(deadlineLine).toContain('job long');

    await worker('worker-b', { SHUTDOWN_TIMEOUT_MS: '5000' });
    await until(() => job.state === 'done', 10_000);
    expect(job.claims).toEqual(['worker-a', 'worker-b']);
    expect(job.completedBy).toBe('worker-b');
  });

  it('CONTROL: a worker that exits on SIGTERM loses its running job (claimed, never completed nor requeued)', async () => {
    const job = queue.add('lost', 1500);
    const w = await startFixture('naive-worker-app', { POD_ID: 'naive', QUEUE_URL: queue.url });
    workers.push(w);
    await until(() => job.state === 'running', 5000);
    w.child.kill('SIGTERM');
    await w.exited;
    await sleep(1800);
    expect(job.state).toBe('running');
    expect(job.completedBy).toBeUndefined();
  });
});
