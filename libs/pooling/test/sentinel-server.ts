import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedis, freePort, waitForPort } from '@tether/devstack';

/**
 * One Redis Sentinel watching a master, for the failover test. The devstack starts plain Redis
 * servers only; Sentinel needs a writable config file of its own, so it lives here.
 */
export class SentinelServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.dir = dir;
    this.child = child;
    process.once('exit', this.killOnExit);
  }

  static async start(masterName: string, masterPort: number): Promise<SentinelServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tether-sentinel-'));
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
        // Quick detection and failover so the test stays short; production uses seconds to tens of seconds.
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 3000`,
        '',
      ].join('\n'),
    );
    const child = spawn(findRedis(), [config, '--sentinel'], { stdio: 'ignore' });
    const server = new SentinelServer(port, dir, child);
    await waitForPort(server.host, port, 10_000);
    return server;
  }

  async close(): Promise<void> {
    process.off('exit', this.killOnExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await once(this.child, 'exit');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
