import { defineConfig } from 'vitest/config';

// The integration tests, against the loopback OpenStack (as packages/openstack's): the root
// vitest.cloud.config.ts runs them in `npm test` once the cloud is up; alone:
// `npm run test:openstack -w @coffer/compute-openstack` against a started cloud.
export default defineConfig({
  test: {
    name: 'compute-openstack',
    root: import.meta.dirname,
    include: ['src/**/*.integration.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One retry: these run against a whole loopback OpenStack at a low priority beside the main
    // suites; a test that passes only on its retry is printed at the end of `npm test`.
    retry: 1,
  },
});
