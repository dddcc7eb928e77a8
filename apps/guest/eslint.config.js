import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport, TEST_FILES } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('apps/guest/README.md', [
    {
      imports: ['@coffer/db', '@coffer/web', '@coffer/worker'],
      reason: 'The guest talks to its control plane only through Redis and the injected files',
    },
    {
      imports: ['@coffer/compute', '@coffer/guest-client'],
      exceptIn: TEST_FILES,
      reason:
        "The compute provider and the guest client are the control plane's: only tests use them, as its stand-ins",
    },
  ]),
];
