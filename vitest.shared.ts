import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

// this file sits at the workspace root
const root = dirname(fileURLToPath(import.meta.url));

/**
 * The one vitest configuration every project uses. Besides the console reporter it writes a JSON
 * report to `.cache/test-results/<project>.json`, which `tools/test-summary.ts` folds into the
 * single summary line `npm test` ends with. Import it by relative path from a project's `vitest.config.ts`.
 */
export function projectConfig(projectDir: string, overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  const name = `${basename(dirname(projectDir))}-${basename(projectDir)}`;
  return defineConfig({
    resolve: { conditions: ['@tether/source'] },
    ssr: { resolve: { conditions: ['@tether/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      watch: false,
      reporters: ['default', ['json', { outputFile: join(root, '.cache', 'test-results', `${name}.json`) }]],
      ...overrides,
    },
  });
}
