// @ts-check
// Lint for the TypeScript sources: the type-checked recommended rules everywhere (floating promises,
// misused promises, unsafe `any`), zero warnings allowed (`npm run lint`, run by .ci/run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // An async method that implements an async interface without awaiting is still correct.
      '@typescript-eslint/require-await': 'off',
      // String enums are compared with their own literals (GraphQL's OperationTypeNode, stored states).
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
  {
    // Sizes (docs/architecture.md, "Lint and format"): a function reads on one screen, a service does one job.
    files: ['src/**/*.ts', 'bench/**/*.ts', 'console/**/*.ts', 'console/**/*.tsx'],
    ignores: ['src/**/*.spec.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['src/**/*.service.ts'],
    rules: { 'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }] },
  },
  {
    // A capability's SQL lives in its repositories, the only classes given TypeORM's DataSource; core's
    // database plumbing (migrations, notifications, health, the request budget) and the CLI are the rest.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/core/**', 'src/cli/**', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'typeorm',
              importNames: ['DataSource'],
              message: 'Queries belong in the capability’s repository (src/<capability>/*.repository.ts); inject that instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read JSON answers (supertest's `body` is `any`) and assert on them; typing every answer would add
    // casts, not safety. The promise rules stay on: an unawaited request in a test is a test that cannot fail.
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // React event handlers may be async: they catch and show their own errors (see console/src/api.ts).
    files: ['console/**/*.tsx', 'console/**/*.ts'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }] },
  },
);
