import { fileURLToPath } from 'node:url';

import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: {
    alias: {
      '~': fileURLToPath(new URL('./src', import.meta.url)),
      // `server-only` throws outside React Server Components; tests call the server directly.
      'server-only': fileURLToPath(new URL('./src/test/server-only-stub.ts', import.meta.url)),
    },
  },
  test: {
    name: 'web',
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // A BullMQ prefix per file (COFFER_QUEUE_PREFIX): never the shared default `bull`; and
    // ports of the file's own (@coffer/testing/ports): any two files can run at once.
    setupFiles: ['./src/test/setup-names.ts', '@coffer/testing/setup-ports'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      // Placeholders so env.ts parses; each test file points DATABASE_URL at its own database.
      BETTER_AUTH_SECRET: 'test-secret-test-secret-test-secret-0123',
      BETTER_AUTH_URL: 'http://localhost:3100',
      COFFER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      LOG_LEVEL: 'silent',
      // Tests find a guest by its command line (`--config-dir`): no standby guests
      // (packages/compute guest-pool.ts).
      COFFER_LOCAL_GUEST_POOL: 'off',
    },
  },
});
