import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

/**
 * Lints `code` as if it were a real file of `project` (the rule maps files to projects through the
 * project graph, so the probe must exist on disk while it is linted), then removes it.
 */
async function boundaryErrors(project: string, code: string, folder = 'src'): Promise<string[]> {
  const file = join(root, project, folder, '__boundary_probe__.ts');
  writeFileSync(file, code);
  try {
    const [result] = await eslint.lintFiles([file]);
    return (result?.messages ?? [])
      .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
      .map((m) => m.message);
  } finally {
    rmSync(file, { force: true });
  }
}

describe('module boundaries', () => {
  it('lets a lib import another lib', async () => {
    expect(
      await boundaryErrors(
        'libs/pooling',
        "import { classify } from '@tether/retry';\nexport const c = classify;\n",
      ),
    ).toEqual([]);
  });

  it('forbids a lib from importing a tool', async () => {
    const errors = await boundaryErrors(
      'libs/migrations',
      "import { parseTarget } from '@tether/probe';\nexport const p = parseTarget;\n",
    );
    expect(errors.join('\n')).toMatch(/"type:lib" can only depend on libs tagged with "type:lib"$/m);
  });

  it("forbids a lib's shipped code from importing a testkit", async () => {
    const errors = await boundaryErrors(
      'libs/migrations',
      "import { EphemeralPostgres } from '@tether/devstack';\nexport const p = EphemeralPostgres;\n",
    );
    expect(errors.join('\n')).toMatch(/"type:lib" can only depend on libs tagged with "type:lib"$/m);
  });

  it("lets a lib's tests and examples import a testkit", async () => {
    const code =
      "import { EphemeralPostgres } from '@tether/devstack';\nexport const p = EphemeralPostgres;\n";
    expect(await boundaryErrors('libs/migrations', code, 'test')).toEqual([]);
    expect(await boundaryErrors('libs/pooling', code, 'examples')).toEqual([]);
  });

  it("forbids an app's shipped code from importing a testkit", async () => {
    const errors = await boundaryErrors(
      'apps/api',
      "import { FaultProxy } from '@tether/devstack';\nexport const f = FaultProxy;\n",
    );
    expect(errors.join('\n')).toMatch(/"type:app" can only depend on libs tagged with "type:lib"$/m);
  });

  it('forbids cycles between libs', async () => {
    // @tether/pooling already depends on @tether/retry; the reverse import would close a cycle.
    const errors = await boundaryErrors(
      'libs/retry',
      "import * as pooling from '@tether/pooling';\nexport const p = pooling;\n",
    );
    expect(errors.join('\n')).toMatch(/Circular dependency/);
  });
});

describe('package.json dependencies', () => {
  /** Lints `manifest` as the package.json of `project` (nothing is written to disk). */
  async function dependencyErrors(
    project: string,
    edit: (pkg: { dependencies: Record<string, string> }) => void,
  ): Promise<string[]> {
    const file = join(root, project, 'package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    edit(pkg);
    const [result] = await eslint.lintText(JSON.stringify(pkg, null, 2), { filePath: file });
    return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/dependency-checks').map((m) => m.message);
  }

  it('hold for @tether/retry as it is (the control for the two below)', async () => {
    expect(await dependencyErrors('libs/retry', () => {})).toEqual([]);
  });

  it('name a package the shipped code imports but package.json does not list', async () => {
    const errors = await dependencyErrors('libs/retry', (pkg) => delete pkg.dependencies.cockatiel);
    expect(errors.join('\n')).toMatch(/missing from "dependencies":\s*- cockatiel/);
  });

  it('name a dependency the shipped code never imports', async () => {
    const errors = await dependencyErrors('libs/retry', (pkg) => (pkg.dependencies['left-pad'] = '^1.3.0'));
    expect(errors.join('\n')).toMatch(/"left-pad" package is not used by "@tether\/retry"/);
  });
});

describe('building a publishable lib', () => {
  const libs = readdirSync(join(root, 'libs')).filter((name) =>
    existsSync(join(root, 'libs', name, 'tsconfig.lib.json')),
  );

  it.each(libs)('libs/%s: its tsc build graph never reaches a testkit (devstack, rollout-sim)', (lib) => {
    // `tsc --build --dry` lists every project the build would compile or check, references included.
    const plan = execFileSync(
      join(root, 'node_modules', '.bin', 'tsc'),
      ['--build', '--dry', '--force', 'tsconfig.lib.json'],
      { cwd: join(root, 'libs', lib), encoding: 'utf8' },
    );
    expect(plan).toContain(`libs/${lib}/tsconfig.lib.json`);
    expect(plan).not.toMatch(/tools\/(devstack|rollout-sim)/);
  });

  it('has no Nx build target on the testkits, so `^build` of a lib never builds them', () => {
    const projects = JSON.parse(
      execFileSync(
        join(root, 'node_modules', '.bin', 'nx'),
        ['show', 'projects', '--with-target', 'build', '--json'],
        { cwd: root, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false' } },
      ),
    ) as string[];
    expect(projects).toContain('@tether/pooling');
    expect(projects).not.toContain('@tether/devstack');
    expect(projects).not.toContain('@tether/rollout-sim');
  });
});
