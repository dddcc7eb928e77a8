import { defineConfig } from 'vitest/config';

// The integration tests, against the loopback OpenStack: not a `vitest.config.ts`, so the main
// suites' glob leaves them out; the root vitest.cloud.config.ts runs them (in `npm test`, once the
// cloud is up; `npm run test:openstack` against one already started). The unit tests:
// vitest.config.ts.
export default defineConfig({
  test: {
    name: 'openstack',
    root: import.meta.dirname,
    include: ['src/**/*.integration.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One retry: these run against a whole loopback OpenStack at a low priority beside the main
    // suites; a test that passes only on its retry is printed at the end of `npm test`.
    retry: 1,
  },
});
