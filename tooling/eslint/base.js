import js from '@eslint/js';
import tseslint from 'typescript-eslint';

import { noRelativeImportAcrossPackages } from './no-relative-import-across-packages.js';

/**
 * Shared ESLint flat config. `process.env` may only be read in an `env.ts` (each app and
 * package parses its environment there with zod, once, at boot) and in scripts. No relative
 * import leaves its package; what a package must not import by name is its own
 * eslint.config.js's (`mustNotImport`, boundaries.js).
 */
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.next/**', '**/dist/**', '**/generated/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: {
      coffer: { rules: { 'no-relative-import-across-packages': noRelativeImportAcrossPackages } },
    },
    rules: {
      'coffer/no-relative-import-across-packages': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['warn', { fixStyle: 'inline-type-imports' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration from the zod-validated env.ts of this app or package.',
        },
      ],
    },
  },
  {
    files: ['**/env.ts', '**/*.config.*', '**/scripts/**', '**/*.test.ts', '**/test/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
