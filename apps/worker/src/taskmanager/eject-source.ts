import {
  hasReachedGtid,
  pickMostAdvanced,
  type ReplicaEjectJob,
  type ReplicationStatus,
} from '@coffer/contracts';
import { clearedFault, faultFields } from '@coffer/db/domain/faults';

import { throwIfAborted } from '../events';
import {
  attachToSource,
  callMember,
  dropReplicationAccount,
  endTaskAfterFailure,
  loadMember,
  loadMemberInTask,
  NOT_REPLICATING,
  replicasOf,
  tryCallMember,
  type Member,
} from '../replication/replication-steps';
import { OperationFailure, type Operation, type OperationContext } from './operation';

/**
 * `replica.eject` (Trove's eject_replica_source): the source is gone (its guest silent), so
 * its most advanced replica takes over and the others follow it. The web app set EJECTING on
 * the source and its replicas in one transaction.
 *
 * 1. Ask every replica where it stands. A replica whose SQL thread runs but has not applied
 *    everything its I/O thread received from the dead source (its relay log) is given time
 *    to apply it first (MASTER_GTID_WAIT on its Gtid_IO_Pos, at most
 *    {@link DRAIN_RELAY_LOG_SECONDS}): what a replica received counts, and would otherwise
 *    be thrown away with its relay log when it stops or follows another. Then the one whose
 *    applied GTID position is ahead of (or equal to) every other's is elected (compared domain
 *    by domain on sequence numbers); replicas whose guest does not answer are left out.
 * 2. It stops replicating for good and becomes writable.
 * 3. The others follow it from their own GTID positions (its binary log holds what they still
 *    miss); one that cannot keeps the server's error as its fault. Its own replication
 *    account goes.
 * 4. One transaction writes the new topology and ends every task: the elected one has no
 *    source, the others follow it, the old source is out of the set with a fault saying so.
 *
 * Nothing is written before 4, so a retry starts over: the replica that already stopped
 * replicating is the elected one (only this job stops one), and attaching again is harmless.
 */

/** How long a replica may take to apply the rest of its relay log before the election. */
export const DRAIN_RELAY_LOG_SECONDS = 60;

/** Received but not yet applied, with a SQL thread that runs: it can still apply it. */
function hasRelayLogToApply(status: ReplicationStatus): boolean {
  const threads = status.replica;
  if (!threads || threads.sqlThread !== 'RUNNING' || !threads.gtidIoPosition) return false;
  return !hasReachedGtid(status.gtidCurrentPosition, threads.gtidIoPosition);
}

/** Lets a replica apply what it received; its status afterwards (as it is, if it could not). */
async function drainRelayLog(
  ctx: OperationContext,
  member: Member,
  status: ReplicationStatus,
): Promise<ReplicationStatus> {
  if (!hasRelayLogToApply(status)) return status;
  const target = status.replica!.gtidIoPosition;
  ctx.logger.info(
    { replicaId: member.id, applied: status.gtidCurrentPosition, received: target },
    'a replica applies the rest of what it received before the election',
  );
  const waited = await tryCallMember(
    ctx,
    member,
    'wait_for_gtid',
    () => ({ position: target, timeoutSeconds: DRAIN_RELAY_LOG_SECONDS }),
    (DRAIN_RELAY_LOG_SECONDS + 20) * 1000,
  );
  if (!waited) return status;
  if (!waited.isReached) {
    ctx.logger.warn(
      { replicaId: member.id, applied: waited.status.gtidCurrentPosition, received: target },
      'a replica did not apply all it received in time: it is ranked by what it applied',
    );
  }
  return waited.status;
}

const run: Operation<ReplicaEjectJob>['run'] = async (ctx, payload) => {
  const old = await loadMemberInTask(ctx, payload.instanceId, 'EJECTING');
  if ('outcome' in old) return old;
  const replicas = await replicasOf(ctx, old.id, 'EJECTING');
  if (replicas.length === 0) throw new OperationFailure(`${old.name} has no replica to take over.`);

  const answered: Array<{ member: Member; status: ReplicationStatus }> = [];
  for (const replica of replicas) {
    const status = await tryCallMember(ctx, replica, 'get_replication_status', () => ({}), 20_000);
    if (status) answered.push({ member: replica, status });
    else
      ctx.logger.warn({ replicaId: replica.id }, 'a replica did not answer: it cannot take over');
  }
  if (answered.length === 0)
    throw new OperationFailure(`None of the replicas of ${old.name} answered: none can take over.`);

  // A retry: the one that already stopped replicating was elected before.
  let index = answered.findIndex(({ status }) => status.replica === null);
  const isResumed = index >= 0;
  if (!isResumed) {
    throwIfAborted(ctx.signal);
    const drained = await Promise.all(
      answered.map(({ member, status }) => drainRelayLog(ctx, member, status)),
    );
    drained.forEach((status, at) => (answered[at]!.status = status));
    index = pickMostAdvanced(answered.map(({ status }) => status.gtidCurrentPosition));
  }
  const elected = answered[index]!.member;
  ctx.logger.info(
    {
      electedId: elected.id,
      isResumed,
      positions: answered.map(({ member, status }) => ({
        id: member.id,
        gtid: status.gtidCurrentPosition,
      })),
    },
    'the most advanced replica takes over',
  );
  throwIfAborted(ctx.signal);
  if (!isResumed) await callMember(ctx, elected, 'stop_replication', () => ({}));

  const followerFaults = new Map<string, string>();
  const followers = answered
    .filter(({ member }) => member.id !== elected.id)
    .map(({ member }) => member);
  for (const follower of followers) {
    throwIfAborted(ctx.signal);
    try {
      await attachToSource(ctx, follower, elected, { kind: 'continue' });
    } catch (error) {
      if (!(error instanceof OperationFailure)) throw error;
      followerFaults.set(follower.id, error.fault.message);
    }
  }
  await dropReplicationAccount(ctx, elected, elected.id);

  const stragglers = replicas.filter(
    (replica) => !answered.some(({ member }) => member.id === replica.id),
  );
  const now = new Date();
  await ctx.prisma.$transaction([
    ctx.prisma.instance.update({
      where: { id: elected.id },
      data: {
        replicaOfId: null,
        ...NOT_REPLICATING,
        taskStatus: 'NONE',
        ...clearedFault(),
      },
    }),
    ...followers.map((follower) =>
      ctx.prisma.instance.update({
        where: { id: follower.id },
        data: {
          replicaOfId: elected.id,
          taskStatus: 'NONE',
          ...(followerFaults.has(follower.id)
            ? faultFields({ message: followerFaults.get(follower.id)!.slice(0, 2000) }, now)
            : clearedFault()),
        },
      }),
    ),
    ctx.prisma.instance.updateMany({
      where: { id: { in: stragglers.map((straggler) => straggler.id) }, taskStatus: 'EJECTING' },
      data: {
        taskStatus: 'NONE',
        ...faultFields(
          {
            message: `Its source ${old.name} was ejected and ${elected.name} took over, but this replica did not answer and still follows ${old.name}: detach or delete it.`,
          },
          now,
        ),
      },
    }),
    ctx.prisma.instance.update({
      where: { id: old.id },
      data: {
        taskStatus: 'NONE',
        ...faultFields(
          {
            message: `Ejected as the source: ${elected.name} took over and the other replicas follow it. If this server comes back it is no longer part of the replication set (it may hold transactions the others never received): delete it, or keep it as a standalone instance.`,
          },
          now,
        ),
      },
    }),
  ]);
  for (const id of [old.id, ...replicas.map((replica) => replica.id)]) {
    await ctx.publisher.publish({
      type: 'instance.changed',
      projectId: old.projectId,
      instanceId: id,
    });
  }
  ctx.logger.info(
    {
      electedId: elected.id,
      followers: followers.length,
      broken: followerFaults.size,
      stragglers: stragglers.length,
    },
    'source ejected',
  );
  return { outcome: 'done' };
};

/** An eject that failed for good: every task ends, the fault on the old source (ejecting again starts over). */
const recordFailure: Operation<ReplicaEjectJob>['recordFailure'] = async (
  ctx,
  instanceId,
  fault,
) => {
  const old = await loadMember(ctx, instanceId);
  if (!old) return;
  const replicas = await replicasOf(ctx, old.id, 'EJECTING');
  const message = `The eject failed: ${fault.message} Eject again to retry.`;
  const others = replicas.map((replica) => replica.id);
  await endTaskAfterFailure(ctx, 'EJECTING', old.id, others, message, fault);
  ctx.logger.warn({ fault: fault.message }, 'eject failed');
};

export const ejectSourceOperation: Operation<ReplicaEjectJob> = { run, recordFailure };
