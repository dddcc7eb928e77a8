import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'compute',
    include: ['src/**/*.test.ts'],
    // Ports of the file's own (@coffer/testing/ports): any two files can run at once.
    setupFiles: ['@coffer/testing/setup-ports'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
