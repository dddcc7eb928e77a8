import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/compute-openstack/README.md', [
    {
      imports: ['apps', '@coffer/db'],
      exceptIn: TEST_FILES,
      reason:
        'A compute provider knows neither the apps nor the database: it makes servers through the OpenStack client (tests play the guest with the real one)',
    },
  ]),
];
