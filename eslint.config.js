import js from '@eslint/js';
import * as jsonParser from 'jsonc-eslint-parser';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Nx module boundaries by project tag; the testkits are allowed only where `testkitsAllowed`. */
function boundaries({ testkitsAllowed }) {
  const libs = testkitsAllowed ? ['type:lib', 'type:testkit'] : ['type:lib'];
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: libs },
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: libs },
        { sourceTag: 'type:testkit', onlyDependOnLibsWithTags: ['type:testkit'] },
        {
          sourceTag: 'type:tool',
          onlyDependOnLibsWithTags: ['type:lib', 'type:app', 'type:testkit', 'type:tool'],
        },
      ],
    },
  ];
}

/** `@nx/dependency-checks` options for every package.json (one file relaxes the version check below). */
const dependencyChecks = {
  buildTargets: ['build'],
  checkMissingDependencies: true,
  checkObsoleteDependencies: true,
  checkVersionMismatches: true,
  ignoredFiles: ['{projectRoot}/vitest.config.ts', '{projectRoot}/eslint.config.js'],
  // The testkits have no build target (building a lib must not build them), so this rule
  // cannot see a tool's runtime use of them; enforce-module-boundaries decides who may.
  ignoredDependencies: ['@tether/devstack', '@tether/rollout-sim'],
};

export default [
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.tether/**',
      '**/.cache/**',
      '**/.nx/**',
      '**/out-tsc/**',
      '**/charts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // Shipped code (a lib's or app's src/) depends on libs only: the testkits (devstack,
      // rollout-sim) start servers and inject faults, and must never reach a production import.
      '@nx/enforce-module-boundaries': boundaries({ testkitsAllowed: false }),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Tests and runnable examples may use the testkits.
    files: ['**/test/**/*.ts', '**/examples/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries({ testkitsAllowed: true }) },
  },
  {
    // Each project's vitest.config.ts imports the one shared config at the workspace root by path:
    // it is tooling, not a project, and must load before anything is built.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // package.json tells the truth: every package the shipped code imports is a dependency, and
    // nothing it does not import is (tests, examples and configs use devDependencies).
    files: ['**/package.json'],
    languageOptions: { parser: jsonParser },
    plugins: { '@nx': nx },
    rules: {
      '@nx/dependency-checks': ['error', dependencyChecks],
    },
  },
  {
    // chart-verify's devDependency k8s-models-129 (@kubernetes/client-node 0.21) hoists jose 4 to the
    // root; npm installs the jose 6 chart-verify asks for under tools/chart-verify/node_modules (see
    // package-lock.json), but Nx's graph maps the import to the hoisted copy. Versions are still
    // checked everywhere else; missing and obsolete dependencies are still checked here.
    files: ['tools/chart-verify/package.json'],
    rules: {
      '@nx/dependency-checks': ['error', { ...dependencyChecks, checkVersionMismatches: false }],
    },
  },
  prettier,
];
