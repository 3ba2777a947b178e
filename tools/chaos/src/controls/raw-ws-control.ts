/**
 * Control for gateway restarts: raw `ws` clients following the same jobs the way a client without a
 * resume cursor does: on any close, reconnect after 250 ms and subscribe to its jobs again (without
 * `after`, since it kept none). The replay then repeats events; a client that did not resubscribe
 * would miss them instead.
 */
import WebSocket from 'ws';
import { check } from '../budget.ts';
import type { Control, ControlRun, ScenarioContext } from '../scenario.ts';

const title = 'raw ws clients, reconnect without a cursor';

interface RawClient {
  jobs: Set<string>;
  socket?: WebSocket;
  closed: boolean;
}

export function rawWsControl(clients: (ctx: ScenarioContext) => number): Control {
  return {
    title,
    async start(ctx: ScenarioContext): Promise<ControlRun> {
      const received = new Map<string, string[]>();
      const pool: RawClient[] = [];
      const connect = (client: RawClient) => {
        if (client.closed) return;
        const socket = new WebSocket(ctx.apps.wsUrl, {
          headers: { authorization: `Bearer ${ctx.stack.token}` },
        });
        client.socket = socket;
        socket.on('open', () => {
          for (const jobId of client.jobs) socket.send(JSON.stringify({ op: 'subscribe', jobId }));
        });
        socket.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { id?: string; jobId?: string; op?: string };
          if (frame.id && frame.jobId) received.get(frame.jobId)?.push(frame.id);
        });
        socket.on('error', () => {});
        socket.on('close', () => setTimeout(() => connect(client), 250));
      };
      for (let i = 0; i < clients(ctx); i++) {
        const client: RawClient = { jobs: new Set(), closed: false };
        pool.push(client);
        connect(client);
      }
      let next = 0;
      ctx.onJobAccepted((jobId) => {
        const client = pool[next++ % pool.length] as RawClient;
        client.jobs.add(jobId);
        received.set(jobId, []);
        if (client.socket?.readyState === WebSocket.OPEN)
          client.socket.send(JSON.stringify({ op: 'subscribe', jobId }));
      });
      return {
        async stop() {
          const ids = [...received.keys()];
          const rows = await ctx.stack.postgres.sql<{ id: string; last_seq: number }>(
            'SELECT id::text, last_seq FROM tether_jobs WHERE id = ANY($1::uuid[])',
            [ids],
          );
          for (const client of pool) {
            client.closed = true;
            client.socket?.terminate();
          }
          let missed = 0;
          let duplicated = 0;
          for (const row of rows) {
            const seqs = (received.get(row.id) ?? []).map(Number);
            const unique = new Set(seqs);
            duplicated += seqs.length - unique.size;
            for (let seq = 1; seq <= row.last_seq; seq++) if (!unique.has(seq)) missed++;
          }
          return {
            title,
            checks: [
              check('missed WebSocket events', missed, 0),
              check('duplicated WebSocket events', duplicated, 0),
            ],
            notes: [`${ids.length} jobs followed by ${pool.length} raw clients`],
          };
        },
      };
    },
  };
}
