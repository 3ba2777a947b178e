/**
 * `chart-verify simulate` on the real ws-gateway chart with WebSocket clients through the emulated
 * Service (`--devstack`: the tool's own Postgres, Redis and JWT). With the chart's lifecycle every
 * client is closed with 1012 at each drain and reconnects; none sees 1006 or a failed handshake.
 * The control (preStop removed, 1 s grace) shows the failures.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { chartsDir } from '../src/helm.ts';
import { brokenManifest, setArgs, simulate } from './simulate-support.ts';

const clients = 20;
const loadArgs = (rollouts: number): string[] => [
  '--devstack',
  '--rollouts',
  String(rollouts),
  '--rate',
  '0',
  '--ws-clients',
  String(clients),
  '--ws-path',
  '/v1/stream',
  '--settle-ms',
  '1000',
];

it('3 rollouts of the ws-gateway chart: every client gets 1012 and reconnects, none gets 1006', async () => {
  const { code, report } = await simulate([
    '--chart',
    join(chartsDir, 'ws-gateway'),
    ...setArgs,
    ...loadArgs(3),
  ]);
  const ws = report.websocket;
  console.log(
    `ws-gateway chart: ${JSON.stringify({ ws: { ...ws, perClient: undefined }, summary: report.summary })}`,
  );
  expect(ws?.clients).toBe(clients);
  expect(ws?.closesByCode['1006']).toBeUndefined();
  expect(ws?.connectFailures).toEqual({});
  for (const client of ws?.perClient ?? []) {
    expect(client.closes.length).toBeGreaterThan(0);
    expect(new Set(client.closes)).toEqual(new Set([1012]));
    expect(client.reconnectedAfterEveryClose).toBe(true);
    // One open per close, plus the first.
    expect(client.opens).toBe(client.closes.length + 1);
  }
  expect(ws?.clientsDrainedAndReconnected).toBe(clients);
  expect(report.summary.podsKilledAfterGrace).toBe(0);
  expect(report.passed).toBe(true);
  expect(code).toBe(0);
}, 1_500_000);

it('CONTROL: the same chart with the preStop removed and a 1 s grace period fails WebSocket handshakes or closes in its first rollout', async () => {
  const { code, report } = await simulate(['--manifest', brokenManifest('ws-gateway'), ...loadArgs(1)]);
  const ws = report.websocket;
  console.log(
    `ws-gateway control: ${JSON.stringify({ ws: { ...ws, perClient: undefined }, summary: report.summary })}`,
  );
  expect(report.settings).toMatchObject({ preStop: 'none', terminationGracePeriodMs: 1000 });
  expect(report.summary.websocketFailures).toBeGreaterThan(0);
  expect(report.passed).toBe(false);
  expect(code).toBe(1);
}, 1_500_000);
