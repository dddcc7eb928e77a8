import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  { files: ['**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
  ...mustNotImport('e2e/README.md', [
    {
      imports: ['@coffer/*'],
      // The factories seed through the same code as the seed; the test helpers list secrets.
      allow: ['@coffer/db', '@coffer/db/factories', '@coffer/testing', '@coffer/worker/test/*'],
      reason:
        'The end-to-end tests drive the console as a user does: no application code, only the @coffer/db factories for seeding',
    },
  ]),
];
