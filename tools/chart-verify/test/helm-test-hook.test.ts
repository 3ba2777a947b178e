/**
 * The umbrella's `helm test` pod, run as its container would run it: the rendered command and
 * script, with the Service URLs pointed at local servers (no cluster here to resolve their names).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCharts, render, type Manifest } from '../src/helm.ts';
import type { Container } from '../src/manifests.ts';

const charts = prepareCharts();
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(401).end()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
  charts.remove();
});

function testPod(set: Record<string, string> = {}): Manifest & { spec: { containers: Container[] } } {
  const pods = render(charts.path('tether'), { set }).filter(
    (m) => m.kind === 'Pod' && m.metadata.annotations?.['helm.sh/hook'] === 'test',
  );
  expect(pods).toHaveLength(1);
  return pods[0] as Manifest & { spec: { containers: Container[] } };
}

/** Async: the local server answers from this process, so its event loop must keep running. */
function runWithTargets(
  container: Container,
  targets: string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  const [binary, ...flags] = container.command ?? [];
  expect(binary).toBe('node');
  const script = (container.args?.[0] ?? '').replace(
    /const targets = \[.*\];/,
    `const targets = ${JSON.stringify(targets)};`,
  );
  return new Promise((resolve) =>
    execFile(process.execPath, [...flags, script], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('helm test', () => {
  it('targets the api and ws-gateway Services on their service ports, never an admin port', () => {
    const script = testPod().spec.containers[0]?.args?.[0] ?? '';
    expect(script).toContain('const targets = ["http://rel-api:80/","http://rel-ws-gateway:80/"];');
    const apiOnly = testPod({ 'ws-gateway.enabled': 'false' }).spec.containers[0]?.args?.[0] ?? '';
    expect(apiOnly).toContain('const targets = ["http://rel-api:80/"];');
  });

  it('passes when every Service answers (any status: the request carries no token)', async () => {
    const result = await runWithTargets(testPod().spec.containers[0] as Container, [url, url]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${url} answered 401`);
    expect(result.status).toBe(0);
  });

  it('fails when a Service has no ready endpoint (connection refused)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/`;
    const result = await runWithTargets(testPod().spec.containers[0] as Container, [url, closed]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/fetch failed|ECONNREFUSED/);
  });
});
