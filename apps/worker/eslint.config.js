import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('apps/worker/README.md', [
    { imports: ['@coffer/web'], reason: 'The worker imports nothing of the web app' },
    {
      imports: ['@coffer/guest'],
      allow: ['@coffer/guest/launch'],
      reason:
        'The guest is started as a program, never imported: only @coffer/guest/launch (how to run it)',
    },
  ]),
];
