import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/testing/README.md', [
    {
      imports: ['*'],
      // smtp-server: the loopback SMTP server of smtp.ts (tests only; nothing bundles it).
      allow: ['node', 'pino', 'smtp-server'],
      exceptIn: TEST_FILES,
      reason:
        'The test helpers import nothing of the project (the guest bundles log-capture.ts): Node built-ins only',
    },
    {
      imports: ['pino'],
      allowTypeImports: true,
      reason: "Only pino's types: each app passes its own pino",
    },
  ]),
];
