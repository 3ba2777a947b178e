import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

/**
 * Lints `code` as if it were a real file of `project` (the rule maps files to projects through the
 * project graph, so the probe must exist on disk while it is linted), then removes it.
 */
async function boundaryErrors(project: string, code: string): Promise<string[]> {
  const file = join(root, project, 'src', '__boundary_probe__.ts');
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
      "import { writeReport } from '@tether/bench';\nexport const w = writeReport;\n",
    );
    expect(errors.join('\n')).toMatch(
      /"type:lib" can only depend on libs tagged with "type:lib", "type:testkit"/,
    );
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
