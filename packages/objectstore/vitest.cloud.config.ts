import { defineProject } from 'vitest/config';

/**
 * The store's tests that need the loopback OpenStack (`*.cloud.test.ts`: Swift with Keystone
 * auth), in the root vitest.cloud.config.ts; settings as vitest.config.ts.
 */
export default defineProject({
  test: {
    name: 'objectstore-cloud',
    root: import.meta.dirname,
    include: ['src/**/*.cloud.test.ts'],
    setupFiles: ['@coffer/testing/setup-ports'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One retry: these run against a whole loopback OpenStack at a low priority beside the main
    // suites; a test that passes only on its retry is printed at the end of `npm test`.
    retry: 1,
  },
});
