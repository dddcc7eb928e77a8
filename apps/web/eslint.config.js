import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  { ignores: ['next-env.d.ts', '.next/**', '.next-*/**'] },
  ...mustNotImport('apps/web/README.md', [
    {
      imports: ['@coffer/guest-client', '@coffer/compute'],
      reason: "Guests and servers are the worker's business: the web app adds jobs",
    },
    {
      imports: ['apps'],
      exceptIn: TEST_FILES,
      reason: 'The web app imports no other app (its tests may start a worker)',
    },
  ]),
];
