import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

// The local sink is a tool (tools/trace-sink); libs may not import tools, so tests run its CLI as
// the separate process it is in `npm start`.
const cli = join(import.meta.dirname, '..', '..', '..', 'tools', 'trace-sink', 'src', 'cli.ts');

export interface SinkProcess {
  url: string;
  file: string;
  /** Where the sink appends metric data points (beside `file`). */
  metricsFile: string;
  stop(): Promise<void>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
  const file = join(mkdtempSync(join(tmpdir(), 'tether-sink-')), 'traces.jsonl');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@tether/source', cli, 'serve', '--port', '0', '--file', file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('trace-sink exited during start-up');
    }),
  ])) as [string];
  const { url } = JSON.parse(first) as { url: string };
  return {
    url,
    file,
    metricsFile: join(dirname(file), 'metrics.jsonl'),
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dirname(file), { recursive: true, force: true });
    },
  };
}
