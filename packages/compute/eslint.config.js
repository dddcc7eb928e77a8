import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/compute/README.md', [
    {
      imports: ['apps', '@coffer/db'],
      reason:
        'A compute provider knows neither the apps (it runs a command it is given) nor the database',
    },
  ]),
];
