import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/openstack/README.md', [
    {
      imports: ['*'],
      allow: ['node'],
      exceptIn: TEST_FILES,
      reason:
        'The OpenStack client speaks REST with Node built-ins and fetch only: no app, no database, no compute provider (the provider maps its errors)',
    },
  ]),
];
