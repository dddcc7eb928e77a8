import { defineProject } from 'vitest/config';

// The unit tests (a local HTTP server stands in for a service's answers), in `npm test`. The
// integration tests need the loopback OpenStack: `npm run test:openstack` (vitest.openstack.config.ts).
export default defineProject({
  test: {
    name: 'openstack-unit',
    include: ['src/**/*.test.ts'],
    exclude: ['src/**/*.integration.test.ts'],
  },
});
