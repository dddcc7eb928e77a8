import { defineConfig } from 'vitest/config';

/** Every package and app with a vitest.config.ts, scripts/ and tooling/, is a project; `npm test` runs them all. */
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'scripts/vitest.config.ts',
      'tooling/*/vitest.config.js',
    ],
  },
});
