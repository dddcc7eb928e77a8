import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  {
    // Plain-JavaScript generators run on bare Node (scripts/generate-mariadb-catalog.mjs).
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' },
    },
  },
  ...mustNotImport('packages/contracts/README.md', [
    {
      imports: ['@coffer/*'],
      reason: 'The contracts import nothing of the project: every other package imports them',
    },
    {
      imports: ['node'],
      exceptIn: ['**/crypto.ts', 'scripts/**', ...TEST_FILES],
      reason: 'Node built-ins only in crypto.ts: the rest of the contracts runs in the browser too',
    },
  ]),
];
