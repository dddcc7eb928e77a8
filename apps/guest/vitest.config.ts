import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'guest',
    include: ['src/**/*.test.ts'],
    // The integration tests run the bundled guest (as the local provider does): build it once if stale.
    globalSetup: ['./test/build-bundle.global-setup.ts'],
    // Ports of the file's own (@coffer/testing/ports): any two files can run at once.
    setupFiles: ['@coffer/testing/setup-ports'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
