import { defineConfig } from 'vitest/config';

// Not a `vitest.config.ts` on purpose (as packages/openstack's): the main suites' glob leaves
// it out; the root vitest.cloud.config.ts runs it in `npm test`, beside the main suites. It builds
// the guest image (root, mmdebstrap, qemu-img) and boots it under QEMU; alone:
// `npm run test:vm -w @coffer/guest-image` with the test services' env (README "The VM test").
export default defineConfig({
  test: {
    name: 'guest-image-vm',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    setupFiles: ['@coffer/testing/setup-ports'],
    testTimeout: 15 * 60_000,
    // a cold image build (mmdebstrap) is minutes
    hookTimeout: 20 * 60_000,
  },
});
