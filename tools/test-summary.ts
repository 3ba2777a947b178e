/**
 * `npm test`: runs every project's `test` target through Nx, then folds the per-project vitest JSON
 * reports into one closing line, `N passed, N failed`, so CI and humans read a single verdict.
 * Exits non-zero when Nx or any test failed, or when no test ran at all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  success: boolean;
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const resultsDir = join(root, '.cache', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });

const extra = process.argv.slice(2);
const nx = spawnSync(
  join(root, 'node_modules', '.bin', 'nx'),
  ['run-many', '-t', 'test', '--outputStyle=static', '--parallel=1', '--skipNxCache', ...extra],
  {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const failedProjects: string[] = [];
const reports = existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith('.json')) : [];
for (const file of reports.sort()) {
  const report = JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as VitestJsonReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  if (!report.success) failedProjects.push(file.replace(/\.json$/, ''));
}

console.log('');
console.log(
  `projects: ${reports.length}${failedProjects.length ? ` (failing: ${failedProjects.join(', ')})` : ''}`,
);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
const ok = nx.status === 0 && failed === 0 && failedProjects.length === 0 && passed > 0;
process.exit(ok ? 0 : 1);
