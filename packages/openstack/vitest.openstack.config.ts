import { defineConfig } from 'vitest/config';

// Not a `vitest.config.ts` on purpose: the root config's `packages/*/vitest.config.ts` glob does
// not pick this project up, so `npm test` does not run it yet. `npm run test:openstack` does,
// against the loopback OpenStack (`node scripts/coffer.mjs openstack start`; README "Tests").
export default defineConfig({
  test: {
    name: 'openstack',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
