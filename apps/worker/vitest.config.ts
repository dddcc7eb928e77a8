import { defineProject } from 'vitest/config';

/**
 * Integration tests against real PostgreSQL (a database per file), Redis (names per file),
 * guests and mariadbd (the local provider under COFFER_TEST_DATA_DIR, a port range per file).
 */
export default defineProject({
  test: {
    name: 'worker',
    include: ['src/**/*.test.ts'],
    // Those needing the loopback OpenStack: vitest.cloud.config.ts.
    exclude: ['src/**/*.cloud.test.ts'],
    // A BullMQ prefix per file (COFFER_QUEUE_PREFIX): never the shared default `bull`; and
    // ports of the file's own (@coffer/testing/ports): any two files can run at once.
    setupFiles: ['./test/setup-names.ts', '@coffer/testing/setup-ports'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Tests find a guest by its command line (`--config-dir`): no standby guests
    // (packages/compute guest-pool.ts) but where a test keeps a pool of its own.
    env: { COFFER_LOCAL_GUEST_POOL: 'off' },
  },
});
