import { type ReplicaDetachJob } from '@coffer/contracts';

import {
  callMember,
  dropAccountOnSource,
  endTask,
  endTaskAfterFailure,
  loadMemberInTask,
  NOT_REPLICATING,
} from '../replication/replication-steps';
import { type Operation } from './operation';

/**
 * `replica.detach` (Trove's detach_replica): the replica stops replicating for good (STOP
 * SLAVE, RESET SLAVE ALL) and becomes a standalone, writable instance with the data it has;
 * its replication account goes from its source when the source answers. Task DETACHING on
 * the replica only. Every step is safe to run again.
 */

const run: Operation<ReplicaDetachJob>['run'] = async (ctx, payload) => {
  const replica = await loadMemberInTask(ctx, payload.instanceId, 'DETACHING');
  if ('outcome' in replica) return replica;
  const status = await callMember(ctx, replica, 'stop_replication', () => ({}));
  await dropAccountOnSource(ctx, replica.replicaOfId, replica.id);
  await ctx.prisma.instance.updateMany({
    where: { id: replica.id, taskStatus: 'DETACHING' },
    data: { replicaOfId: null, ...NOT_REPLICATING },
  });
  await endTask(ctx, [replica.id], 'DETACHING', null);
  ctx.logger.info(
    { gtid: status.gtidCurrentPosition },
    'replica detached: standalone and writable',
  );
  return { outcome: 'done' };
};

const recordFailure: Operation<ReplicaDetachJob>['recordFailure'] = (ctx, instanceId, fault) => {
  return endTaskAfterFailure(
    ctx,
    'DETACHING',
    instanceId,
    [],
    `The detach failed: ${fault.message}`,
    fault,
  );
};

export const detachReplicaOperation: Operation<ReplicaDetachJob> = { run, recordFailure };
