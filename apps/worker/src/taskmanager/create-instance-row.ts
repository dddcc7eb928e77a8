import { type Prisma } from '@coffer/db';

import { throwIfAborted } from '../events';
import { type OperationContext } from './operation';

/**
 * What every step of `instance.create` reads of its instance, and the step boundary that
 * stops a create quietly once the instance is gone or no longer being built (a delete wins).
 */

export const createSelect = {
  id: true,
  projectId: true,
  taskStatus: true,
  serviceStatus: true,
  host: true,
  port: true,
  computeServerId: true,
  guestSecretEnc: true,
  volumeSizeGb: true,
  isPublic: true,
  allowedCidrs: true,
  deletedAt: true,
  restoredFromBackupId: true,
  replicaOfId: true,
  datastoreVersionId: true,
  flavor: { select: { vcpus: true, ramMb: true } },
  datastoreVersion: {
    select: { name: true, replicationStrategy: true, datastore: { select: { manager: true } } },
  },
} as const satisfies Prisma.InstanceSelect;

export type CreateRow = Prisma.InstanceGetPayload<{ select: typeof createSelect }>;

/** The instance, or null when it is gone (or soft-deleted). */
export async function loadRow(
  ctx: Pick<OperationContext, 'prisma'>,
  instanceId: string,
): Promise<CreateRow | null> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: createSelect,
  });
  return row && !row.deletedAt ? row : null;
}

/** Ends the create without a fault: there is nothing (more) to build. */
export class StopCreate extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'StopCreate';
  }
}

/** A step boundary: stops when shutting down, when the row is gone, or when it is no longer being built. */
export async function checkpoint(ctx: OperationContext, instanceId: string): Promise<CreateRow> {
  throwIfAborted(ctx.signal);
  const row = await loadRow(ctx, instanceId);
  if (!row) throw new StopCreate('the instance no longer exists');
  if (row.taskStatus !== 'BUILDING') throw new StopCreate(`the instance is ${row.taskStatus}`);
  return row;
}
