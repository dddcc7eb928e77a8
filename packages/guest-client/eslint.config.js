import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/guest-client/README.md', [
    {
      imports: ['apps', '@coffer/db', '@coffer/compute'],
      reason:
        'The guest client talks to guests through Redis only: no app, database or compute provider',
    },
  ]),
];
