import { AppError, TASKMANAGER_QUEUE, type InstanceCreateJob } from '@coffer/contracts';
import { startReplicaReseed } from '@coffer/db/domain/replicas';
import { Queue } from 'bullmq';

import { REBASED_GUEST_ORDER } from '../conductor/apply-message';
import { compareIds } from '../conductor/conductor';
import { guestConductorStream } from '../conductor/shards';
import { throwIfAborted, waitForInstance } from '../events';
import { checkpoint, StopCreate, type CreateRow } from '../taskmanager/create-instance-row';
import { enqueueTaskmanagerJob } from '../taskmanager/enqueue';
import { OperationFailure, type OperationContext } from '../taskmanager/operation';
import { removeServerAndGuestQueue } from '../taskmanager/remove-server';
import { waitForSnapshot } from './create-replica-steps';
import { releaseReplicaSnapshot } from './replication-steps';

/**
 * A replica whose direct stream failed is seeded from the object store instead (issue 18:
 * "the object store is used only when a direct stream cannot be made"). The stream fails for
 * a replica that came after its source had started sending (the source answers "too late"),
 * after the stream was over, or whose stream broke, before or after data reached it. Such a
 * replica is built once more, from a new snapshot of its source that goes to the object store
 * only (the path of a provider without stream endpoints), and nothing of the failed attempt
 * stays behind:
 *
 * 1. its server goes whole (guest, database server, files, volume: a half-unpacked datadir
 *    with it) and its guest queue; once the conductor has applied everything that guest
 *    sent (its last FAILED must not reach the next guest's build), the row keeps its address
 *    and is NEW again, its message order re-based for the next guest (a fresh boot counter);
 * 2. once the first snapshot has ended (its source is busy with it until then; when it
 *    FAILED, the replica fails with it, as it always did), the new snapshot starts
 *    (`startReplicaReseed`, one transaction: the source BACKING_UP, the replica restored from
 *    it, and its timeline's `replica_reseeded` naming it, which is what sends it to the object
 *    store only, a job queued again by the watchdog too) and the first is released (removed
 *    once no replica builds from it; by the job's next run when its worker went in between:
 *    create-instance.ts);
 * 3. once the new snapshot is being written, the build goes on from its server.
 *
 * A replica is reseeded at most once: its row then names another snapshot than its create
 * job (`isReseeded`), and its build takes no direct stream; a second failure is final.
 */

/** The replica was seeded again: it restores the snapshot its row names, not its job's. */
export function isReseeded(
  row: Pick<CreateRow, 'replicaOfId' | 'restoredFromBackupId'>,
  payload: Pick<InstanceCreateJob, 'restoreFromBackupId'>,
): boolean {
  return (
    row.replicaOfId !== null &&
    row.restoredFromBackupId !== null &&
    row.restoredFromBackupId !== (payload.restoreFromBackupId ?? null)
  );
}

/** A snapshot sent straight to the replicas that were there: nothing of it is stored. */
export function isSentDirectly(snapshot: { status: string; chunkCount: number | null }): boolean {
  return snapshot.status === 'COMPLETED' && snapshot.chunkCount === 0;
}

export async function reseedReplica(
  ctx: OperationContext,
  row: CreateRow,
  reason: string,
): Promise<CreateRow> {
  const fromBackupId = row.restoredFromBackupId;
  const sourceId = row.replicaOfId;
  if (!fromBackupId || !sourceId) throw new Error('only a replica is reseeded');
  ctx.logger.warn(
    { backupId: fromBackupId, reason },
    "the replica's direct stream failed: seeding it from the object store",
  );
  await removeServerAndGuestQueue(ctx, row.id, row.computeServerId);
  await waitForConductorToCatchUp(ctx, row.id);
  const { count } = await ctx.prisma.instance.updateMany({
    where: { id: row.id, taskStatus: 'BUILDING' },
    data: {
      computeServerId: null,
      serviceStatus: 'NEW',
      faultMessage: null,
      faultDetails: null,
      lastHeartbeatAt: null,
      ...REBASED_GUEST_ORDER,
    },
  });
  if (count === 0) throw new StopCreate('the instance stopped being built meanwhile');
  await ctx.publisher.publish({
    type: 'instance.changed',
    projectId: row.projectId,
    instanceId: row.id,
  });

  await waitForSnapshot(ctx, row.id, sourceId, fromBackupId, 'completed');
  const { backupId } = await startReseed(ctx, row.id, sourceId, fromBackupId, reason);
  await releaseReplicaSnapshot(ctx, fromBackupId);
  await ctx.publisher.publish({
    type: 'instance.changed',
    projectId: row.projectId,
    instanceId: row.id,
  });
  ctx.logger.info({ backupId, fromBackupId }, "the source's snapshot to the object store started");
  // Its backup job may not have begun yet (the snapshot still NEW): the build restores it as it
  // is written, so it waits until it is (a snapshot that fails fails the replica).
  await waitForSnapshot(ctx, row.id, sourceId, backupId);
  return checkpoint(ctx, row.id);
}

/** `startReplicaReseed`, again each time the source stops being busy with something else. */
async function startReseed(
  ctx: OperationContext,
  replicaId: string,
  sourceId: string,
  fromBackupId: string,
  reason: string,
): Promise<{ backupId: string }> {
  const queue = new Queue(TASKMANAGER_QUEUE, {
    connection: ctx.redis,
    prefix: ctx.settings.queuePrefix,
  });
  try {
    for (;;) {
      throwIfAborted(ctx.signal);
      try {
        return await startReplicaReseed(ctx.prisma, {
          replicaId,
          fromBackupId,
          reason,
          enqueue: (name, resourceId, payload) =>
            enqueueTaskmanagerJob(queue, name, resourceId, payload),
        });
      } catch (error) {
        if (!(error instanceof AppError) || error.code === 'UNAVAILABLE') throw error;
        if (error.code !== 'CONFLICT' || error.details?.reason !== 'BUSY') {
          // The replica or its source is gone, or the replica is no longer building.
          const replica = await ctx.prisma.instance.findUnique({
            where: { id: replicaId },
            select: { taskStatus: true, deletedAt: true },
          });
          if (!replica || replica.deletedAt || replica.taskStatus !== 'BUILDING')
            throw new StopCreate('the instance stopped being built meanwhile');
          throw new OperationFailure(
            `The replica could not be seeded from the object store: ${error.message}`,
          );
        }
        ctx.logger.info('the source is busy: waiting to snapshot it');
        await waitForSourceFree(ctx, sourceId);
      }
    }
  } finally {
    await queue.close();
  }
}

/** How long the conductor may take to apply what a removed guest sent; then the build goes on. */
const CONDUCTOR_CATCH_UP_MS = 60_000;

/**
 * Until the conductor's group has applied (or dropped) every entry that the streams the removed
 * guest may have written to (its shard, and the stream itself) hold now: in each, its last
 * delivered entry at least the stream's newest, and none older still pending.
 */
async function waitForConductorToCatchUp(ctx: OperationContext, instanceId: string): Promise<void> {
  try {
    const deadline = Date.now() + CONDUCTOR_CATCH_UP_MS;
    for (const stream of [
      guestConductorStream(ctx.settings, instanceId),
      ctx.settings.conductorStream,
    ])
      await conductorCaughtUp(ctx, stream, deadline);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    // No stream or group yet (no conductor ever ran): nothing of that guest can be pending.
    ctx.logger.warn({ err: error }, 'could not see whether the conductor caught up');
  }
}

async function conductorCaughtUp(
  ctx: OperationContext,
  stream: string,
  deadline: number,
): Promise<void> {
  const { conductorGroup: group } = ctx.settings;
  const [newest] = (await ctx.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, unknown][];
  if (!newest) return;
  const upTo = newest[0];
  while (Date.now() < deadline) {
    throwIfAborted(ctx.signal);
    const groups = (await ctx.redis.xinfo('GROUPS', stream)) as unknown[][];
    const info = new Map<string, unknown>();
    for (const fields of groups) {
      const entries = new Map<string, unknown>();
      for (let index = 0; index + 1 < fields.length; index += 2)
        entries.set(String(fields[index]), fields[index + 1]);
      if (entries.get('name') === group) for (const [k, v] of entries) info.set(k, v);
    }
    const delivered = String(info.get('last-delivered-id') ?? '0-0');
    const [pendingCount, oldestPending] = (await ctx.redis.xpending(stream, group)) as [
      number,
      string | null,
    ];
    if (
      compareIds(delivered, upTo) >= 0 &&
      (pendingCount === 0 || !oldestPending || compareIds(oldestPending, upTo) > 0)
    )
      return;
    await new Promise((tick) => setTimeout(tick, 50));
  }
  ctx.logger.warn(
    { stream },
    "the conductor did not catch up with the removed guest's messages in time",
  );
}

async function waitForSourceFree(ctx: OperationContext, sourceId: string): Promise<void> {
  await waitForInstance(
    ctx.feed,
    sourceId,
    () =>
      ctx.prisma.instance.findUnique({
        where: { id: sourceId },
        select: { taskStatus: true, deletedAt: true },
      }),
    (source) => (!source || source.deletedAt || source.taskStatus === 'NONE' ? true : undefined),
    {
      // The job's own timeout (jobs.ts) bounds the wait.
      timeoutMs: Number.MAX_SAFE_INTEGER,
      fallbackMs: Math.max(ctx.settings.tuning.waitFallbackMs, 1000),
      signal: ctx.signal,
    },
  );
}
