import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/objectstore/README.md', [
    {
      imports: ['*'],
      allow: ['node', '@coffer/contracts'],
      exceptIn: TEST_FILES,
      reason:
        'The object store client is bundled into the guest: Node built-ins and @coffer/contracts only',
    },
  ]),
];
