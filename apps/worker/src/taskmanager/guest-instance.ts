import { type Prisma } from '@coffer/db';

/**
 * An instance as the operations that talk to its guest and may reboot its server read it
 * (`instance.restart`, `backup.create`): its task, the guest's last report, its server and
 * the sealed guest secret.
 */
export const guestInstanceSelect = {
  id: true,
  projectId: true,
  taskStatus: true,
  serviceStatus: true,
  lastHeartbeatAt: true,
  computeServerId: true,
  guestSecretEnc: true,
  deletedAt: true,
} as const satisfies Prisma.InstanceSelect;

export type GuestInstanceRow = Prisma.InstanceGetPayload<{ select: typeof guestInstanceSelect }>;
