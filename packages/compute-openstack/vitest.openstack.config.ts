import { defineConfig } from 'vitest/config';

// Not a `vitest.config.ts` on purpose (as packages/openstack's): the root config's
// `packages/*/vitest.config.ts` glob leaves it out of `npm test`. It needs the loopback
// OpenStack (`node scripts/coffer.mjs openstack start`); run it with
// `npm run test:openstack -w @coffer/compute-openstack`.
export default defineConfig({
  test: {
    name: 'compute-openstack',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
