import { type ReplicaPromoteJob } from '@coffer/contracts';

import { throwIfAborted } from '../events';
import {
  attachToSource,
  callMember,
  dropReplicationAccount,
  endTask,
  endTaskAfterFailure,
  loadMember,
  loadMemberInTask,
  NOT_REPLICATING,
  replicasOf,
  tryCallMember,
  type Member,
} from '../replication/replication-steps';
import { OperationFailure, skipped, type Operation, type OperationContext } from './operation';

/**
 * `replica.promote` (Trove's promote_to_replica_source): a replica becomes the source while
 * its source is alive, losing no transaction. The web app set PROMOTING on the replica, its
 * source and its siblings in one transaction.
 *
 * 1. Stop writes on the source: read_only (which waits for the commits under way), then its
 *    exact GTID position, G.
 * 2. The replica applies everything up to G (MASTER_GTID_WAIT); so do the siblings (they will
 *    continue from the new source's binary log, which must hold their position).
 * 3. The replica stops replicating for good and becomes writable.
 * 4. The topology is written in one transaction (the point of no return): the replica has no
 *    source, the old source and the siblings replicate from it.
 * 5. The old source follows the new one by GTID from its own position (G); the siblings
 *    follow it from theirs; the new source's own replication account goes.
 * 6. Tasks end.
 *
 * A retry after step 4 finds the topology written and does 5 and 6 only (each attach is
 * idempotent). A failure for good before step 4 makes the source writable again, unless the
 * replica already stopped replicating (then the source stays read-only, and the fault says so).
 */

const run: Operation<ReplicaPromoteJob>['run'] = async (ctx, payload) => {
  const replica = await loadMemberInTask(ctx, payload.instanceId, 'PROMOTING');
  if ('outcome' in replica) return replica;

  if (replica.replicaOfId) {
    const source = await loadMember(ctx, replica.replicaOfId);
    if (!source || source.taskStatus !== 'PROMOTING') {
      throw new OperationFailure(
        `The source of ${replica.name} is no longer there to hand over to it.`,
      );
    }
    const siblings = (await replicasOf(ctx, source.id, 'PROMOTING')).filter(
      (member) => member.id !== replica.id,
    );
    await switchOver(ctx, replica, source, siblings);
  }

  // From the point of no return on: every member follows the new source.
  const promoted = await loadMember(ctx, replica.id);
  if (!promoted) return skipped('the instance no longer exists');
  const followers = await replicasOf(ctx, promoted.id, 'PROMOTING');
  for (const follower of followers) {
    throwIfAborted(ctx.signal);
    const status = await callMember(ctx, follower, 'get_replication_status', () => ({}));
    // The old source has no source of its own: it starts right after its own last transaction.
    const start = status.replica
      ? ({ kind: 'continue' } as const)
      : ({ kind: 'gtid', position: status.gtidBinlogPosition } as const);
    await attachToSource(ctx, follower, promoted, start);
  }
  // Its own account (made when it became a replica) has no use on a source.
  await dropReplicationAccount(ctx, promoted, promoted.id);
  await endTask(ctx, [promoted.id, ...followers.map((follower) => follower.id)], 'PROMOTING', null);
  ctx.logger.info({ followers: followers.length }, 'replica promoted to source');
  return { outcome: 'done' };
};

/** Steps 1–4. */
async function switchOver(
  ctx: OperationContext,
  replica: Member,
  source: Member,
  siblings: Member[],
): Promise<void> {
  const catchUpSeconds = Math.ceil(ctx.settings.tuning.replicationCatchUpTimeoutMs / 1000);
  const waitTimeoutMs =
    ctx.settings.tuning.replicationCatchUpTimeoutMs + ctx.settings.tuning.replicationCallTimeoutMs;

  const frozen = await callMember(ctx, source, 'set_read_only', () => ({ isReadOnly: true }));
  const position = frozen.gtidBinlogPosition;
  ctx.logger.info({ sourceId: source.id, gtid: position }, 'writes stopped on the source');

  throwIfAborted(ctx.signal);
  const caughtUp = await callMember(
    ctx,
    replica,
    'wait_for_gtid',
    () => ({ position, timeoutSeconds: catchUpSeconds }),
    waitTimeoutMs,
  );
  if (!caughtUp.isReached) {
    throw new OperationFailure(
      `${replica.name} did not apply its source's last transactions (${position}) within ${catchUpSeconds} s; it is at ${caughtUp.status.gtidSlavePosition || 'nothing'}.`,
    );
  }
  for (const sibling of siblings) {
    const reached = await callMember(
      ctx,
      sibling,
      'wait_for_gtid',
      () => ({ position, timeoutSeconds: catchUpSeconds }),
      waitTimeoutMs,
    );
    if (!reached.isReached) {
      throw new OperationFailure(
        `${sibling.name} did not apply its source's last transactions (${position}) within ${catchUpSeconds} s, so it could not follow the new source.`,
      );
    }
  }

  throwIfAborted(ctx.signal);
  const promoted = await callMember(ctx, replica, 'stop_replication', () => ({}));
  ctx.logger.info({ gtid: promoted.gtidCurrentPosition }, 'the replica is writable');

  // The point of no return: the rows say who follows whom.
  await ctx.prisma.$transaction([
    ctx.prisma.instance.update({
      where: { id: replica.id },
      data: { replicaOfId: null, ...NOT_REPLICATING },
    }),
    ctx.prisma.instance.updateMany({
      where: { id: { in: [source.id, ...siblings.map((sibling) => sibling.id)] }, deletedAt: null },
      data: { replicaOfId: replica.id },
    }),
  ]);
  for (const id of [replica.id, source.id, ...siblings.map((sibling) => sibling.id)]) {
    await ctx.publisher.publish({
      type: 'instance.changed',
      projectId: replica.projectId,
      instanceId: id,
    });
  }
}

/**
 * A promote that failed for good: the task ends on every member with the fault on the
 * replica. Before the point of no return the source gets its writes back, unless the replica
 * already stopped replicating (two writable servers must never be).
 */
const recordFailure: Operation<ReplicaPromoteJob>['recordFailure'] = async (
  ctx,
  instanceId,
  fault,
) => {
  const replica = await loadMember(ctx, instanceId);
  if (!replica) return;
  const members: Member[] = [replica];
  let message = `The promotion failed: ${fault.message}`;
  if (replica.replicaOfId) {
    const source = await loadMember(ctx, replica.replicaOfId);
    if (source) {
      members.push(
        source,
        ...(await replicasOf(ctx, source.id, 'PROMOTING')).filter(
          (member) => member.id !== replica.id,
        ),
      );
      const status = await tryCallMember(
        ctx,
        replica,
        'get_replication_status',
        () => ({}),
        20_000,
      ).catch(() => null);
      if (status?.replica) {
        const reopened = await tryCallMember(
          ctx,
          source,
          'set_read_only',
          () => ({ isReadOnly: false }),
          30_000,
        ).catch(() => null);
        message += reopened
          ? ` ${source.name} is still the source and takes writes again.`
          : ` ${source.name} is still the source but could not be made writable again: restart it.`;
      } else if (status) {
        message += ` ${replica.name} already stopped replicating and ${source.name} stays read-only: promote again to finish, or detach ${replica.name}.`;
      } else {
        // Not known whether it still replicates: two writable servers must never be.
        message += ` ${replica.name} did not answer, so whether it still replicates is not known, and ${source.name} stays read-only: promote again to finish, or detach ${replica.name}.`;
      }
    }
  } else {
    members.push(...(await replicasOf(ctx, replica.id, 'PROMOTING')));
    message += ` ${replica.name} is the source now, but not every other member could be attached to it: detach those, or create new replicas.`;
  }
  const others = members.slice(1).map((member) => member.id);
  await endTaskAfterFailure(ctx, 'PROMOTING', replica.id, others, message, fault);
  ctx.logger.warn({ fault: fault.message }, 'replica promotion failed');
};

export const promoteReplicaOperation: Operation<ReplicaPromoteJob> = { run, recordFailure };
