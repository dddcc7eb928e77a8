import { type InstanceDeleteJob } from '@coffer/contracts';

import { dropAccountOnSource, releaseReplicaSnapshot } from '../replication/replication-steps';
import { type Operation, recordInstanceFault } from './operation';
import { removeServerAndGuestQueue } from './remove-server';

/**
 * `instance.delete`: remove the server (the guest stops its database server; processes, files
 * and volume go), the guest's RPC queue, then the row itself, and say so. Every step is
 * idempotent; a row whose server never existed (a create that failed early) is fine.
 */

const run: Operation<InstanceDeleteJob>['run'] = async (ctx, payload) => {
  const { instanceId } = payload;
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      projectId: true,
      taskStatus: true,
      computeServerId: true,
      replicaOfId: true,
      restoredFromBackupId: true,
    },
  });
  if (row && row.taskStatus !== 'DELETING') {
    // The job is the request: whatever was under way stops at its next step.
    await ctx.prisma.instance.updateMany({
      where: { id: instanceId },
      data: { taskStatus: 'DELETING' },
    });
    await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
  }

  await removeServerAndGuestQueue(ctx, instanceId, row?.computeServerId ?? null);

  // A replica: its account on its source goes (if the source answers), and the snapshot it
  // was being built from, once no replica of it is building.
  await dropAccountOnSource(ctx, row?.replicaOfId ?? null, instanceId);

  const { count } = await ctx.prisma.instance.deleteMany({ where: { id: instanceId } });
  if (row && count > 0) {
    await ctx.publisher.publish({ type: 'instance.deleted', projectId: row.projectId, instanceId });
  }
  if (row?.replicaOfId && row.restoredFromBackupId) {
    await releaseReplicaSnapshot(ctx, row.restoredFromBackupId);
  }
  ctx.logger.info('instance deleted');
  return { outcome: 'done' };
};

/** A delete that keeps failing stays DELETING with the reason; the watchdog tries it again later. */
const recordFailure: Operation<InstanceDeleteJob>['recordFailure'] = (ctx, instanceId, fault) => {
  return recordInstanceFault(ctx, instanceId, fault, { what: 'instance delete', level: 'error' });
};

export const deleteInstanceOperation: Operation<InstanceDeleteJob> = { run, recordFailure };
