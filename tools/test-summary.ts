/**
 * `npm test` [-- --projects <pattern>] [--exclude <pattern>]: checks the machine's prerequisites,
 * runs every project's `test` target through Nx, then ends with one line, `N passed, N failed`.
 *
 * The projects expected to report are the ones Nx says have a `test` target, not the reports that
 * happen to exist: a project that crashed before writing its report is counted as failed and named.
 * A vitest config that throws while loading also breaks Nx's project graph (the @nx/vitest plugin
 * loads every config); then each project's vitest runs directly, so the others still run and the
 * broken one is named. The exit code is 0 exactly when the closing line says `0 failed`.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readOutcome, resultsDir, verdict } from './workspace-checks/src/test-results.ts';
import { projectsWithVitest, selectProjects } from './workspace-checks/src/test-projects.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(root, 'node_modules', '.bin');
const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const usage = 'usage: npm test [-- --projects <pattern>] [--exclude <pattern>]';

const selection: string[] = [];
const include: string[] = [];
const exclude: string[] = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string;
  const [flag, inline] = arg.split(/=(.*)/s, 2);
  if (flag !== '--projects' && flag !== '-p' && flag !== '--exclude') {
    console.error(`${usage} (unexpected: ${arg})`);
    process.exit(2);
  }
  const value = inline ?? args[++i];
  if (!value) {
    console.error(`${usage} (${flag} needs a pattern)`);
    process.exit(2);
  }
  selection.push(flag === '--exclude' ? '--exclude' : '--projects', value);
  (flag === '--exclude' ? exclude : include).push(value);
}

const preflight = spawnSync(process.execPath, [join(root, 'tools/devstack/src/preflight-cli.ts'), 'test'], {
  stdio: 'inherit',
  cwd: root,
});
if (preflight.status !== 0) process.exit(preflight.status ?? 1);

const dir = resultsDir(root);
rmSync(dir, { recursive: true, force: true });

const listed = spawnSync(
  join(bin, 'nx'),
  ['show', 'projects', '--with-target', 'test', '--json', ...selection],
  {
    cwd: root,
    env: nxEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let projects: string[];
let runnerFailure: string | undefined;
try {
  projects = (JSON.parse(listed.stdout) as string[]).sort();
  if (projects.length > 0) {
    // Two projects at a time: vitest runs one file at a time on 2 cores, and most test time is spent
    // waiting (servers starting, faults timing out), which a second project fills. TEST_PARALLEL=1
    // runs them one after another (e.g. to rule out interference while chasing a flaky test).
    const parallel = /^[1-9]$/.test(process.env['TEST_PARALLEL'] ?? '') ? process.env['TEST_PARALLEL'] : '2';
    const run = spawnSync(
      join(bin, 'nx'),
      [
        'run-many',
        '-t',
        'test',
        '--outputStyle=static',
        `--parallel=${parallel}`,
        '--skipNxCache',
        ...selection,
      ],
      { stdio: 'inherit', cwd: root, env: nxEnv },
    );
    if (run.status !== 0) runnerFailure = `nx run-many exited with ${run.status ?? run.signal}`;
  }
} catch {
  console.error(
    '\nNx could not build the project graph (see above): running each project’s vitest directly.',
  );
  const found = selectProjects(projectsWithVitest(root), include, exclude);
  projects = found.map((p) => p.name).sort();
  for (const project of found) {
    console.log(`\n> ${project.name}: vitest (in ${project.dir})`);
    spawnSync(join(bin, 'vitest'), ['run'], { stdio: 'inherit', cwd: project.dir });
  }
  runnerFailure = 'Nx could not build the project graph'; // so `npx nx test <project>` fails for all
}

const result = verdict(
  projects.map((project) => readOutcome(dir, project)),
  runnerFailure,
);
console.log('');
for (const o of result.outcomes) {
  const counts = `${o.passed} passed${o.status === 'passed' ? '' : `, ${o.reason}`}`;
  console.log(`  ${o.status === 'passed' ? 'ok  ' : 'FAIL'}  ${o.project.padEnd(28)} ${counts}`);
  // The failing tests by name, so a log cut to its last lines (as CI keeps it) still says which.
  for (const f of o.failures ?? []) {
    console.log(`          x ${relative(root, f.file)} > ${f.test}`);
    if (f.message) console.log(`            ${f.message}`);
  }
}
console.log(result.line);
process.exit(result.ok ? 0 : 1);
