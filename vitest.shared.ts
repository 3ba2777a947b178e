import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { reportFileName, resultsDir } from './tools/workspace-checks/src/test-results.ts';

// this file sits at the workspace root
const root = dirname(fileURLToPath(import.meta.url));

/**
 * The one vitest configuration every project uses. Besides the console reporter it writes a JSON
 * report named after the project (its package name) to `.cache/test-results/`, which
 * `tools/test-summary.ts` folds into the single summary line `npm test` ends with. Import it by
 * relative path from a project's `vitest.config.ts`.
 */
export function projectConfig(projectDir: string, overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  const { name } = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { name: string };
  return defineConfig({
    resolve: { conditions: ['@tether/source'] },
    ssr: { resolve: { conditions: ['@tether/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      watch: false,
      reporters: ['default', ['json', { outputFile: join(resultsDir(root), reportFileName(name)) }]],
      ...overrides,
    },
  });
}
