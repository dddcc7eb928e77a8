import { defineProject } from 'vitest/config';

// The unit tests, in `npm test`. The integration tests need the loopback OpenStack
// (`node scripts/coffer.mjs openstack start`): `npm run test:openstack -w @coffer/compute-openstack`.
export default defineProject({
  test: {
    name: 'compute-openstack-unit',
    include: ['src/**/*.test.ts'],
    exclude: ['src/**/*.integration.test.ts'],
  },
});
