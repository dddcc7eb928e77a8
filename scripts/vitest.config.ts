import { defineProject } from 'vitest/config';

/**
 * The orchestration script's own pieces (scripts/lib), tested with real processes: the
 * supervisor `npm start` runs under, and the embedded services `npm test` starts and stops.
 */
export default defineProject({
  test: {
    name: 'scripts',
    include: ['lib/**/*.test.mjs'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
