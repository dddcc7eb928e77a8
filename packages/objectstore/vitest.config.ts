import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'objectstore',
    include: ['src/**/*.test.ts'],
    // Those needing the loopback OpenStack: vitest.cloud.config.ts.
    exclude: ['src/**/*.cloud.test.ts'],
    // Ports of the file's own (@coffer/testing/ports): any two files can run at once.
    setupFiles: ['@coffer/testing/setup-ports'],
    // The Swift tests start a real Swift (proxy, account, container, object servers, memcached).
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
