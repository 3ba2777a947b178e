import { type ViteUserConfig } from 'vitest/config';
/**
 * The one vitest configuration every project uses. Besides the console reporter it writes a JSON
 * report to `.cache/test-results/<project>.json`, which `tools/test-summary.ts` folds into the
 * single summary line `npm test` ends with.
 */
export declare function projectConfig(projectDir: string, overrides?: ViteUserConfig['test']): ViteUserConfig;
//# sourceMappingURL=vitest.shared.d.ts.map