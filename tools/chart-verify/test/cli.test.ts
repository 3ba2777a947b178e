/** `npx chart-verify --help` and each subcommand's help, through the package's bin. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspaceRoot } from '../src/helm.ts';

const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const bin = join(workspaceRoot, 'node_modules', '.bin', 'chart-verify');
const run = (args: string[]) =>
  spawnSync(bin, args, {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(workspaceRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
  });

describe('the chart-verify CLI', () => {
  it('is the package bin, a node script', () => {
    expect(manifest.bin['chart-verify']).toBe('./src/cli.ts');
    expect(readFileSync(join(import.meta.dirname, '..', 'src', 'cli.ts'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
  });

  it('--help names the three commands with an example each; no command exits 2 with it', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    for (const example of [
      'chart-verify static charts/api',
      'chart-verify simulate charts/api',
      '--context kind-kind',
    ])
      expect(result.stdout).toContain(example);
    const bare = run([]);
    expect(bare.status).toBe(2);
    const unknown = run(['lint']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "lint" (commands: static, simulate, live)');
  });

  it.each([
    [
      'static',
      ['--config FILE', '--format F', '--junit FILE', 'chart-verify.tether.dev/waive-<rule>', 'exit status'],
    ],
    ['live', ['--context NAME', '--rate N', '--rollouts N', 'refuses to run', 'exit status']],
    ['simulate', ['simulate']],
  ])('%s --help explains its options and exit status', (command, phrases) => {
    const result = run([command, '--help']);
    expect(result.status).toBe(0);
    for (const phrase of phrases) expect(result.stdout).toContain(phrase);
  });
});
