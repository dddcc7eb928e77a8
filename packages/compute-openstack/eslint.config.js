import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/compute-openstack/README.md', [
    {
      imports: ['apps', '@coffer/db'],
      reason:
        'A compute provider knows neither the apps nor the database: it makes servers through the OpenStack client',
    },
  ]),
];
