import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/runtime/README.md', [
    {
      imports: [
        'apps',
        '@coffer/db',
        '@coffer/compute',
        '@coffer/guest-client',
        '@coffer/objectstore',
        'bullmq',
        'next',
        'react',
      ],
      reason:
        'The guest bundle and every role load the runtime: no app, database, provider, queue or UI code',
    },
  ]),
];
