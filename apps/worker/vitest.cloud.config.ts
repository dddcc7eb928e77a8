import { defineProject } from 'vitest/config';

/**
 * The worker's tests that need the loopback OpenStack (`*.cloud.test.ts`: backups over Swift
 * with Keystone auth, the create path with the OpenStack compute provider), in the root
 * vitest.cloud.config.ts; settings as vitest.config.ts.
 */
export default defineProject({
  test: {
    name: 'worker-cloud',
    root: import.meta.dirname,
    include: ['src/**/*.cloud.test.ts'],
    setupFiles: ['./test/setup-names.ts', '@coffer/testing/setup-ports'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One retry: these run against a whole loopback OpenStack at a low priority beside the main
    // suites; a test that passes only on its retry is printed at the end of `npm test`.
    retry: 1,
  },
});
