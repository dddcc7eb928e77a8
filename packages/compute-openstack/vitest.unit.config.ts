import { defineConfig } from 'vitest/config';

// The unit tests only (no cloud needed). Not a `vitest.config.ts`: outside `npm test` until
// the lead wires the package in.
export default defineConfig({
  test: {
    name: 'compute-openstack-unit',
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    exclude: ['src/**/*.integration.test.ts'],
  },
});
