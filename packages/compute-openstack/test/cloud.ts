// The loopback OpenStack as the tests see it: a session on it (OS_* variables, else the
// admin that `node scripts/coffer.mjs openstack start` makes), a check that it answers, and
// what it holds of one instance, so a test can say that nothing is left.
import {
  KeystoneAuth,
  OpenStackSession,
  listPorts,
  listSecurityGroups,
  listServers,
  listVolumes,
  type Port,
  type SecurityGroup,
  type Server,
  type Volume,
} from '@coffer/openstack';

import { GUESTS_GROUP, instanceTag, securityGroupName } from '../src/openstack-provider';

export const LOOPBACK = {
  authUrl: process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3',
  username: process.env.OS_USERNAME ?? 'admin',
  password: process.env.OS_PASSWORD ?? 'admin',
  projectName: process.env.OS_PROJECT_NAME ?? 'admin',
  image: 'fake-image',
  network: 'private',
} as const;

/** The COFFER_OPENSTACK_* settings of a worker on the loopback cloud (packages/compute-openstack/src/env.ts). */
export function loopbackProviderEnv(): Record<string, string> {
  return {
    COFFER_OPENSTACK_AUTH_URL: LOOPBACK.authUrl,
    COFFER_OPENSTACK_USERNAME: LOOPBACK.username,
    COFFER_OPENSTACK_PASSWORD: LOOPBACK.password,
    COFFER_OPENSTACK_PROJECT_NAME: LOOPBACK.projectName,
    COFFER_OPENSTACK_IMAGE: LOOPBACK.image,
    COFFER_OPENSTACK_NETWORK: LOOPBACK.network,
  };
}

export function loopbackSession(): OpenStackSession {
  return new OpenStackSession({
    auth: new KeystoneAuth({
      authUrl: LOOPBACK.authUrl,
      credentials: {
        type: 'password',
        username: LOOPBACK.username,
        password: LOOPBACK.password,
        projectName: LOOPBACK.projectName,
      },
    }),
  });
}

/** Throws, naming the command that starts it, when no Keystone answers. */
export async function requireLoopbackCloud(): Promise<void> {
  const answer = await fetch(`${LOOPBACK.authUrl}/`).catch((error: unknown) => error as Error);
  if (answer instanceof Error)
    throw new Error(
      `no Keystone at ${LOOPBACK.authUrl} (${answer.message}): start the loopback OpenStack first, \`node scripts/coffer.mjs openstack start\``,
    );
}

export interface CloudParts {
  servers: Server[];
  volumes: Volume[];
  groups: SecurityGroup[];
  ports: Port[];
}

/** Everything Nova, Cinder and Neutron hold of the instance: by its tag, and by the names Coffer gives. */
export async function cloudPartsOf(
  session: OpenStackSession,
  instanceId: string,
): Promise<CloudParts> {
  const tags = [instanceTag(instanceId)];
  const [servers, volumes, tagged, named, taggedPorts, namedPorts] = await Promise.all([
    listServers(session, { tags }),
    listVolumes(session, { metadata: { 'coffer-instance': instanceId } }),
    listSecurityGroups(session, { tags }),
    listSecurityGroups(session, { name: securityGroupName(instanceId) }),
    listPorts(session, { tags }),
    listPorts(session, { name: `coffer-${instanceId}` }),
  ]);
  const unique = <T extends { id: string }>(items: T[]) => [
    ...new Map(items.map((item) => [item.id, item])).values(),
  ];
  return {
    servers,
    volumes,
    groups: unique([...tagged, ...named]),
    ports: unique([...taggedPorts, ...namedPorts]),
  };
}

/** The deployment's guests group (its id), which every guest's port is in with a stream port. */
export async function guestsGroupIds(session: OpenStackSession): Promise<string[]> {
  const projectId = (await session.auth.token()).project?.id;
  return (await listSecurityGroups(session, { name: GUESTS_GROUP, projectId })).map((g) => g.id);
}
