import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'node_modules', '.bin');
const scratch = mkdtempSync(join(tmpdir(), 'tether-consumer-'));

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('a packed lib in a project outside the repo', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs from its tarball, imports as ESM with types, and works', () => {
    const lib = join(root, 'libs', 'retry');
    run('tsc', ['-b', 'tsconfig.lib.json'], lib);
    run('npm', ['pack', '--pack-destination', scratch, '--silent'], lib);
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^tether-retry-0\.1\.0\.tgz$/);
    const listing = run('tar', ['-tzf', join(scratch, tarball as string)], scratch);
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('package/test/');

    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
    );
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', `./${tarball}`],
      scratch,
    );

    // Types resolve for a TypeScript consumer (strict, nodenext) without our tsconfig.
    writeFileSync(
      join(scratch, 'main.ts'),
      [
        "import { classify, type Classification } from '@tether/retry';",
        "const verdict: Classification = classify(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));",
        'console.log(JSON.stringify(verdict));',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['main.ts'],
      }),
    );
    run('tsc', ['-p', 'tsconfig.json'], scratch);

    // And runs as plain JavaScript, resolving dist/ through the package's exports.
    writeFileSync(
      join(scratch, 'main.mjs'),
      "import { classify } from '@tether/retry';\nconsole.log(JSON.stringify(classify(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))));\n",
    );
    const out = JSON.parse(run(process.execPath, ['main.mjs'], scratch));
    expect(out).toMatchObject({ kind: 'transient', safety: 'always' });
  });
});
