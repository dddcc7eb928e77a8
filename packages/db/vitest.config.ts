import { defineProject } from 'vitest/config';

/**
 * Integration tests against a real PostgreSQL: each file makes its own database on the
 * server of COFFER_TEST_PG_ADMIN_URL (see src/testing.ts).
 */
export default defineProject({
  test: {
    name: 'db',
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
