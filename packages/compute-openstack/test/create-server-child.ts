// A worker's create, in a process of its own for the test to kill mid-way
// (openstack-provider.integration.test.ts): `node --import tsx test/create-server-child.ts <instanceId>`.
import { randomBytes, randomUUID } from 'node:crypto';
import { KeystoneAuth, OpenStackSession } from '@coffer/openstack';

import { OpenStackComputeProvider } from '../src/openstack-provider';

const instanceId = process.argv[2]!;
const provider = new OpenStackComputeProvider({
  session: new OpenStackSession({
    auth: new KeystoneAuth({
      authUrl: process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3',
      credentials: {
        type: 'password',
        username: process.env.OS_USERNAME ?? 'admin',
        password: process.env.OS_PASSWORD ?? 'admin',
        projectName: process.env.OS_PROJECT_NAME ?? 'admin',
      },
    }),
  }),
  image: 'fake-image',
  network: 'private',
});
await provider.createServer({
  instanceId,
  projectId: randomUUID(),
  flavor: { vcpus: 1, ramMb: 512 },
  volumeGb: 1,
  guestInfo: {
    instanceId,
    projectId: randomUUID(),
    datastoreManager: 'mariadb',
    datastoreVersion: '10.11',
  },
  agentConfig: {
    redisUrl: 'redis://10.0.0.1:6379',
    rpcQueue: `guest.${instanceId}`,
    conductorStream: 'conductor',
    guestSecret: randomBytes(32).toString('base64'),
  },
});
console.log('created');
