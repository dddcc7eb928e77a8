import { defineConfig } from 'vitest/config';

/**
 * The suites that need the loopback OpenStack (scripts/openstack; docs/openstack.md): the
 * OpenStack client, the OpenStack compute provider, backups over Swift with Keystone auth; and
 * the guest image (packages/guest-image) built and booted under QEMU.
 * `npm test` starts the cloud and runs them beside the main suites (scripts/lib/cloud-tests.mjs);
 * `npm run test:openstack` runs them against a cloud already started
 * (`node scripts/coffer.mjs openstack start`).
 */
export default defineConfig({
  test: {
    projects: [
      'packages/openstack/vitest.openstack.config.ts',
      'packages/compute-openstack/vitest.openstack.config.ts',
      'packages/objectstore/vitest.cloud.config.ts',
      'apps/worker/vitest.cloud.config.ts',
      // Not OpenStack, but as slow and as apart: the guest image built and booted under QEMU.
      'packages/guest-image/vitest.vm.config.ts',
    ],
  },
});
