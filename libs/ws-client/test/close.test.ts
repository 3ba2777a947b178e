import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog, TestGateway } from './gateway.ts';

const TOKEN = 'close-token';
let gw: TestGateway;
const log = new EventLog();
beforeAll(async () => {
  gw = await TestGateway.start({ token: TOKEN, log });
});
afterAll(() => gw.stop());

interface Report {
  state: string;
  before: string[];
  after: string[];
}

/** Runs close-child.ts; resolves with its report and how long it took to exit by itself after it. */
async function runChild(
  mode: 'open' | 'waiting',
): Promise<{ report: Report; exitCode: number | null; exitAfterMs: number }> {
  const child = fork(join(import.meta.dirname, 'close-child.ts'), [gw.url, TOKEN, mode], {
    execArgv: ['--conditions=@tether/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // A child that does not exit by itself (a leaked handle) is killed and fails the test: 3 s after
  // its report, or 30 s after the fork (starting a .ts process on a loaded machine takes seconds).
  let killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let report: Report | undefined;
  let reportedAt = 0;
  child.on('message', (message) => {
    if (message === 'terminate-me') {
      gw.terminateAll();
      return;
    }
    report = message as Report;
    reportedAt = performance.now();
    clearTimeout(killer);
    killer = setTimeout(() => child.kill('SIGKILL'), 3000);
  });
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  if (!report) throw new Error(`close-child exited (${exitCode}) without a report`);
  return { report, exitCode, exitAfterMs: performance.now() - reportedAt };
}

describe('WsClient.close()', () => {
  it('leaves no timer or socket behind: the process exits by itself, and nothing reconnects', async () => {
    setTimeout(() => log.append('job-a'), 300);
    const accepted = gw.accepted.length;
    const { report, exitCode, exitAfterMs } = await runChild('open');
    expect(report.before).toContain('TCPSocketWrap'); // the check sees the client's socket and timers…
    expect(report.before).toContain('Timeout');
    expect(report.after).toEqual([]); // …and none of them after close()
    expect(report.state).toBe('closed');
    expect(exitCode).toBe(0);
    expect(exitAfterMs).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.accepted.length - accepted).toBe(1);
  });

  it('cancels a pending reconnect', async () => {
    const accepted = gw.accepted.length;
    const { report, exitCode, exitAfterMs } = await runChild('waiting');
    expect(report.before).toContain('Timeout'); // the 5 s reconnect timer
    expect(report.after).toEqual([]);
    expect(exitCode).toBe(0);
    expect(exitAfterMs).toBeLessThan(1000);
    expect(gw.accepted.length - accepted).toBe(1);
  });
});
