import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  {
    // Plain-JavaScript modules (the migration tool runs on bare Node): Node's globals.
    files: ['**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  ...mustNotImport('packages/db/README.md', [
    {
      imports: ['apps'],
      reason: 'The apps import the database package, never the other way round',
    },
    {
      imports: ['@coffer/runtime'],
      reason: 'The runtime sits on top of the database package (packages/runtime/README.md)',
    },
  ]),
];
