import { type ReplicaDetachJob } from '@coffer/contracts';

import {
  callMember,
  dropReplicationAccount,
  endTask,
  loadMember,
  NOT_REPLICATING,
} from '../replication/replication-steps';
import {
  skipped,
  type Fault,
  type Operation,
  type OperationContext,
  type OperationResult,
} from './operation';

/**
 * `replica.detach` (Trove's detach_replica): the replica stops replicating for good (STOP
 * SLAVE, RESET SLAVE ALL) and becomes a standalone, writable instance with the data it has;
 * its replication account goes from its source when the source answers. Task DETACHING on
 * the replica only. Every step is safe to run again.
 */

async function run(ctx: OperationContext, payload: ReplicaDetachJob): Promise<OperationResult> {
  const replica = await loadMember(ctx, payload.instanceId);
  if (!replica) return skipped('the instance no longer exists');
  if (replica.taskStatus !== 'DETACHING') return skipped(`the instance is ${replica.taskStatus}`);
  const status = await callMember(ctx, replica, 'stop_replication', () => ({}));
  const source = replica.replicaOfId ? await loadMember(ctx, replica.replicaOfId) : null;
  if (source) await dropReplicationAccount(ctx, source, replica.id);
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
}

function recordFailure(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
  fault: Fault,
): Promise<void> {
  return endTask(ctx, [instanceId], 'DETACHING', {
    message: `The detach failed: ${fault.message}`.slice(0, 2000),
    details: fault.details,
  });
}

export const detachReplicaOperation: Operation<ReplicaDetachJob> = { run, recordFailure };
