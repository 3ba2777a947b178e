/**
 * The end-to-end benchmark's client, loaded by the fixed-rate load generator's own process
 * (`fixedRateInChild`): one op POSTs a job, subscribes to it on one of a few open WebSocket
 * connections, and resolves when the `running` event arrives (the worker took it), marking when
 * the 202 and the first event (`queued`) arrived. The same client drives Tether and the raw baseline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Marks, Op } from './load.ts';

export interface E2eClientOptions {
  /** base URL of the API, e.g. http://127.0.0.1:8080 */
  api: string;
  /** the WebSocket stream URL */
  ws: string;
  /** a bearer token, when the target checks one */
  token?: string;
  /**
   * Open connections to spread subscriptions over: the gateway allows 20 client messages/s per
   * connection, and each job costs two (subscribe, unsubscribe).
   */
  connections: number;
  /** an op that has not seen its `running` event after this long fails, ms */
  timeoutMs: number;
}

interface Waiter {
  resolve: (marks: Marks) => void;
  reject: (error: Error) => void;
  socket: WebSocket;
  marks: Record<string, number>;
}

const sockets: WebSocket[] = [];

export async function createOp(options: E2eClientOptions): Promise<Op> {
  const headers = options.token ? { authorization: `Bearer ${options.token}` } : undefined;
  const waiters = new Map<string, Waiter>();
  for (let i = 0; i < options.connections; i++) {
    const socket = new WebSocket(options.ws, headers ? { headers } : {});
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as {
        op?: string;
        jobId?: string;
        type?: string;
        message?: string;
      };
      const waiter = message.jobId === undefined ? undefined : waiters.get(message.jobId);
      if (!waiter) return;
      if (message.op === 'error') {
        waiters.delete(message.jobId as string);
        waiter.reject(new Error(`subscribe ${message.jobId}: ${message.message}`));
      } else if (message.type !== undefined) {
        waiter.marks['first event'] ??= performance.now();
        if (message.type === 'running') {
          waiters.delete(message.jobId as string);
          socket.send(JSON.stringify({ op: 'unsubscribe', jobId: message.jobId }));
          waiter.resolve({ marks: waiter.marks });
        }
      }
    });
    sockets.push(socket);
  }
  const body = JSON.stringify({ type: 'demo.sleep', payload: { ms: 0, steps: 1 } });
  const postHeaders = { 'content-type': 'application/json', ...headers };
  let next = 0;
  return async () => {
    const response = await fetch(`${options.api}/v1/jobs`, { method: 'POST', headers: postHeaders, body });
    const accepted = performance.now();
    if (response.status !== 202)
      throw new Error(`POST /v1/jobs: ${response.status} ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    const socket = sockets[next++ % sockets.length] as WebSocket;
    const done = new Promise<Marks>((resolve, reject) => {
      waiters.set(id, { resolve, reject, socket, marks: { 'POST 202': accepted } });
    });
    socket.send(JSON.stringify({ op: 'subscribe', jobId: id }));
    return Promise.race([
      done,
      sleep(options.timeoutMs, undefined, { ref: false }).then(() => {
        waiters.delete(id);
        throw new Error(`job ${id}: no running event within ${options.timeoutMs} ms`);
      }),
    ]);
  };
}

export async function close(): Promise<void> {
  for (const socket of sockets.splice(0)) socket.close(1000);
}
