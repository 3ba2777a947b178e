import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readOutcome, reportFileName, verdict } from '../src/test-results.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'tether-summary-'));

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const sharedConfig =
  "import { projectConfig } from '../../vitest.shared.ts';\nexport default projectConfig(import.meta.dirname);\n";
const passingTest = "import { expect, it } from 'vitest';\nit('adds', () => expect(1 + 1).toBe(2));\n";

/** The fixture projects: a vitest config and one test file each. */
const fixtures = {
  good: { config: sharedConfig, test: passingTest },
  red: { config: sharedConfig, test: `${passingTest}it('fails', () => expect(1 + 1).toBe(3));\n` },
  // Throws while loading, so vitest exits before any reporter runs (and Nx cannot build its graph).
  broken: { config: `${sharedConfig}throw new Error('this config does not load');\n`, test: passingTest },
  // Loads fine, but vitest itself dies (SIGKILL from its global setup) before writing a report.
  killed: {
    config:
      "import { projectConfig } from '../../vitest.shared.ts';\n" +
      "export default projectConfig(import.meta.dirname, { globalSetup: ['./die.ts'] });\n",
    test: passingTest,
  },
};

/**
 * A small Nx workspace with the real `npm test` machinery (test-summary, the shared vitest config,
 * the devstack preflight) and the given fixture projects.
 */
function fixtureWorkspace(name: string, projects: (keyof typeof fixtures)[]): string {
  const ws = join(scratch, name);
  for (const file of [
    'tools/test-summary.ts',
    'tools/workspace-checks/src',
    'vitest.shared.ts',
    'tools/devstack/src',
  ]) {
    cpSync(join(root, file), join(ws, file), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
  cpSync(join(root, 'package-lock.json'), join(ws, 'package-lock.json')); // Nx reads external deps from it
  write(
    join(ws, 'package.json'),
    JSON.stringify({ name: 'fixture', private: true, type: 'module', workspaces: ['projects/*'] }),
  );
  write(
    join(ws, 'nx.json'),
    JSON.stringify({
      neverConnectToCloud: true,
      plugins: [{ plugin: '@nx/vitest', options: { testTargetName: 'test' } }],
      targetDefaults: { test: { cache: false } },
    }),
  );
  for (const project of projects) {
    const dir = join(ws, 'projects', project);
    write(
      join(dir, 'package.json'),
      JSON.stringify({ name: `@fixture/${project}`, private: true, type: 'module' }),
    );
    write(join(dir, 'vitest.config.ts'), fixtures[project].config);
    write(join(dir, 'die.ts'), "export default () => process.kill(process.pid, 'SIGKILL');\n");
    write(join(dir, 'test', `${project}.test.ts`), fixtures[project].test);
  }
  return ws;
}

function npmTest(ws: string): { closing: string; status: number | null; output: string } {
  const run = spawnSync(process.execPath, ['tools/test-summary.ts'], {
    cwd: ws,
    encoding: 'utf8',
    env: { ...process.env, TETHER_TEST_RESULTS_DIR: '', NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    timeout: 300_000,
  });
  // Nx colours its output when the environment asks for it (CI does): compare the plain text.
  const stdout = stripVTControlCharacters(run.stdout);
  const output = stdout + stripVTControlCharacters(run.stderr);
  return { closing: stdout.trimEnd().split('\n').at(-1) ?? '', status: run.status, output };
}

describe('npm test closing line', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('counts a project whose vitest config failed to load as failed, names it, and exits 1', () => {
    const ws = fixtureWorkspace('broken', ['good', 'red', 'broken']);
    const { closing, status, output } = npmTest(ws);
    expect(closing, output).toMatch(/^2 passed, 2 failed \(3 projects; failing: /);
    expect(closing).toContain('@fixture/broken: crashed before reporting');
    expect(closing).toContain('@fixture/red: 1 failed test');
    expect(status).toBe(1);
    // Above the line, the failing test by file and name with its error, the passing one not named.
    expect(output).toContain('x projects/red/test/red.test.ts > fails');
    expect(output).toMatch(/expected 2 to be 3/);
    expect(output).not.toContain('> adds');

    // The control: the reports on disk alone, which the old summary folded, show no trace of the
    // broken project, so counting reports said "2 passed, 1 failed" for three projects.
    const reports = readdirSync(join(ws, '.cache', 'test-results')).sort();
    expect(reports).toEqual([reportFileName('@fixture/good'), reportFileName('@fixture/red')]);
  }, 600_000);

  it('counts a project whose vitest died before reporting (Nx run) as failed and names it', () => {
    const ws = fixtureWorkspace('killed', ['good', 'killed']);
    const { closing, status, output } = npmTest(ws);
    expect(output).toMatch(/Running target test for 2 projects/); // through Nx, not the fallback
    expect(closing, output).toMatch(
      /^1 passed, 1 failed \(2 projects; failing: @fixture\/killed: crashed before/,
    );
    expect(status).toBe(1);

    const green = npmTest(fixtureWorkspace('green', ['good']));
    expect(green.closing, green.output).toBe('1 passed, 0 failed (1 project)');
    expect(green.status).toBe(0);
  }, 600_000);

  it('exits 0 exactly when the line says 0 failed', () => {
    const dir = join(scratch, 'results');
    mkdirSync(dir, { recursive: true });
    const report = (passed: number, failed: number, extra: object = {}) =>
      JSON.stringify({
        numPassedTests: passed,
        numFailedTests: failed,
        numPendingTests: 0,
        numTodoTests: 0,
        numFailedTestSuites: 0,
        success: failed === 0,
        ...extra,
      });
    writeFileSync(join(dir, reportFileName('@t/a')), report(3, 0));
    writeFileSync(
      join(dir, reportFileName('@t/suite')),
      report(2, 0, { numFailedTestSuites: 1, success: false }),
    );
    writeFileSync(join(dir, reportFileName('@t/cut')), '{"numPassedTests": 4, "numFa');
    writeFileSync(join(dir, reportFileName('@t/empty')), report(0, 0));

    const all = verdict(
      ['@t/a', '@t/suite', '@t/cut', '@t/empty', '@t/gone'].map((p) => readOutcome(dir, p)),
    );
    expect(all.line).toMatch(/^5 passed, 4 failed \(5 projects; failing: @t\/suite: 1 test file/);
    expect(all.line).toContain('@t/cut: crashed while reporting');
    expect(all.line).toContain('@t/empty: ran no tests');
    expect(all.line).toContain('@t/gone: crashed before reporting');
    expect(all.ok).toBe(false);

    const green = verdict([readOutcome(dir, '@t/a')]);
    expect(green).toMatchObject({ ok: true, line: '3 passed, 0 failed (1 project)' });

    // Every project reported success but the runner failed: one more failure, said on the line.
    const runnerFailed = verdict([readOutcome(dir, '@t/a')], 'nx run-many exited with 1');
    expect(runnerFailed.ok).toBe(false);
    expect(runnerFailed.line).toMatch(
      /^3 passed, 1 failed .*nx run-many exited with 1 although every project reported success/,
    );

    expect(verdict([])).toMatchObject({
      ok: false,
      line: expect.stringMatching(/no project with a test target/),
    });
  });
});
