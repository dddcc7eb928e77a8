import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/objectstore/README.md', [
    {
      imports: ['*'],
      // @coffer/openstack imports Node built-ins only; its KeystoneAuth is given a node:http fetch.
      allow: ['node', '@coffer/contracts', '@coffer/openstack'],
      exceptIn: TEST_FILES,
      reason:
        'The object store client is bundled into the guest: Node built-ins, @coffer/contracts and @coffer/openstack (Keystone auth, over node:http) only',
    },
  ]),
];
