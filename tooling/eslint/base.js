import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Shared ESLint flat config. `process.env` may only be read in an `env.ts` (each app and
 * package parses its environment there with zod, once, at boot) and in scripts.
 */
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.next/**', '**/dist/**', '**/generated/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
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
