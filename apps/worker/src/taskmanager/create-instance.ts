import { type InstanceCreateJob } from '@coffer/contracts';

import { throwIfAborted } from '../events';
import { attachReplica, waitForSnapshot } from '../replication/create-replica-steps';
import { releaseReplicaSnapshot } from '../replication/replication-steps';
import { isReseeded, isSentDirectly, reseedReplica } from '../replication/reseed-replica';
import { queueApplyIfBehind } from './apply-configuration';
import { checkpoint, StopCreate, type CreateRow } from './create-instance-row';
import { createAndRecordServer, ensureGuestSecret } from './create-server-step';
import {
  OperationFailure,
  skipped,
  type Fault,
  type Operation,
  type OperationContext,
  recordInstanceFault,
} from './operation';
import { castPrepare, waitForFault, waitUntilBuilt } from './prepare-guest-step';
import { removeServerAndGuestQueue } from './remove-server';

export { prepareJobId } from './prepare-guest-step';

/**
 * `instance.create` (Trove's create_instance): a resumable sequence of idempotent steps, safe
 * to run again after a crash at any point.
 *
 * 1. Load the row; stop quietly if it is gone or no longer BUILDING (a delete wins).
 * 2. Generate the guest's secret and store it sealed (create-server-step.ts).
 * 3. Create the server (idempotent per instance; the provider picks its port) and store its
 *    id, host and port.
 * 4. Cast `prepare` with a deterministic job id: a retried create never prepares twice.
 * 5. Wait, on change events, until the conductor has applied RUNNING (or FAILED, or time
 *    runs out) (prepare-guest-step.ts).
 * 6. Task NONE; publish; a configuration group changed meanwhile is applied by a job of its own.
 *
 * A restore (`restoreFromBackupId`) is the same create whose prepare fills the volume from the
 * backup's chain instead of an empty datadir (no early install). If it fails, the instance
 * ends BUILDING_ERROR with the fault (naming the backup and chunk when a chunk is bad), and
 * its server, processes and files are removed: no half-made instance stays behind.
 *
 * A replica (`replicaOfId`) is a restore of its source's snapshot, with steps of its own
 * (replication/create-replica-steps.ts): waiting until the snapshot is being written, beside
 * 2 and 3 (before 4), and attaching after 5; then the snapshot goes, once
 * no replica of it is building. A replica whose direct stream failed (or came after it was
 * over) is seeded once more, from the object store (replication/reseed-replica.ts).
 */
const run: Operation<InstanceCreateJob>['run'] = async (ctx, payload) => {
  const { instanceId } = payload;
  try {
    let row = await checkpoint(ctx, instanceId);
    // A replica seeded again from the object store (reseed-replica.ts) takes no direct stream.
    let isDirectAllowed = !isReseeded(row, payload);
    // Seeded again by an earlier run of this job that ended before it released the first
    // snapshot (a worker gone right after startReplicaReseed): released now (safe to repeat).
    if (!isDirectAllowed && payload.restoreFromBackupId)
      await releaseReplicaSnapshot(ctx, payload.restoreFromBackupId);
    let isServerMade = false;
    if (row.replicaOfId && row.restoredFromBackupId) {
      // Steps 2 and 3 go on while the source's snapshot starts (its backup job, the source's
      // guest getting ready): the replica's guest is up by the time it may connect, not
      // started only then. A snapshot that fails meanwhile fails the build once its server is
      // made, and the failed build removes it (recordFailure); a server that cannot be made
      // fails it at once, and the wait left behind ends by itself (once the snapshot starts
      // or the row is no longer BUILDING).
      const started = waitForSnapshot(ctx, row.id, row.replicaOfId, row.restoredFromBackupId);
      started.catch(() => undefined);
      await makeServer(ctx, row);
      await started;
      isServerMade = true;
      row = await checkpoint(ctx, instanceId);
      const snapshot = await ctx.prisma.backup.findUnique({
        where: { id: row.restoredFromBackupId! },
        select: { status: true, chunkCount: true },
      });
      if (isDirectAllowed && snapshot && isSentDirectly(snapshot)) {
        // Too late for the stream (rare): the reseed removes the server made meanwhile, and
        // the build makes a fresh one.
        row = await reseedReplica(ctx, row, 'it was over before this replica came');
        isDirectAllowed = false;
        isServerMade = false;
      }
    }

    let built = await buildServer(ctx, row, payload, isDirectAllowed, isServerMade);
    if (built.kind === 'failed' && built.isDirect) {
      row = await reseedReplica(ctx, await checkpoint(ctx, instanceId), built.fault.message);
      built = await buildServer(ctx, row, payload, false);
    }
    if (built.kind === 'stopped') return skipped(built.reason);
    if (built.kind === 'failed')
      throw new OperationFailure(built.fault.message, built.fault.details);

    if (row.replicaOfId) await attachReplica(ctx, await checkpoint(ctx, instanceId));

    const finished = await ctx.prisma.instance.updateMany({
      where: { id: instanceId, taskStatus: 'BUILDING' },
      data: { taskStatus: 'NONE' },
    });
    if (finished.count === 0) return skipped('the instance stopped being built meanwhile');
    await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
    ctx.logger.info(row.replicaOfId ? 'replica is ACTIVE and replicating' : 'instance is ACTIVE');
    // A configuration change made while it was built (its apply was skipped) reaches it now.
    await queueApplyIfBehind(ctx, instanceId).catch((error: unknown) =>
      ctx.logger.warn({ err: error }, 'could not queue the configuration apply'),
    );
    if (row.replicaOfId && row.restoredFromBackupId) {
      await releaseReplicaSnapshot(ctx, row.restoredFromBackupId);
    }
    return { outcome: 'done' };
  } catch (error) {
    if (error instanceof StopCreate) return skipped(error.reason);
    throw error;
  }
};

/** Steps 2 and 3: the guest's secret and the server (both idempotent). */
async function makeServer(ctx: OperationContext, built: CreateRow): Promise<string> {
  const guestSecret = await ensureGuestSecret(ctx, built);
  await createAndRecordServer(ctx, await checkpoint(ctx, built.id), guestSecret);
  return guestSecret;
}

/**
 * Steps 2 to 5: the guest's secret, the server (unless `isServerMade`), `prepare` (a replica
 * restores the snapshot its row names, given the direct stream if allowed), and the wait
 * until it is built.
 */
async function buildServer(
  ctx: OperationContext,
  built: CreateRow,
  payload: InstanceCreateJob,
  isDirectAllowed: boolean,
  isServerMade = false,
): Promise<
  | { kind: 'running' }
  | { kind: 'stopped'; reason: string }
  | { kind: 'failed'; fault: Fault; isDirect: boolean }
> {
  const instanceId = built.id;
  const guestSecret = isServerMade
    ? await ensureGuestSecret(ctx, built)
    : await makeServer(ctx, built);
  const row = await checkpoint(ctx, instanceId);

  throwIfAborted(ctx.signal);
  const { isDirect } = await castPrepare(
    ctx,
    row,
    row.replicaOfId && row.restoredFromBackupId
      ? { ...payload, restoreFromBackupId: row.restoredFromBackupId }
      : payload,
    guestSecret,
    { isDirectAllowed },
  );

  const outcome = await waitUntilBuilt(
    ctx,
    instanceId,
    row.replicaOfId ? row.restoredFromBackupId : null,
  );
  if (outcome.kind !== 'failed') return outcome;
  const fault = outcome.fault ?? (await waitForFault(ctx, instanceId));
  return {
    kind: 'failed',
    fault: fault ?? { message: 'The database server could not be prepared.' },
    isDirect,
  };
}

const recordFailure: Operation<InstanceCreateJob>['recordFailure'] = async (
  ctx,
  instanceId,
  fault,
) => {
  await recordInstanceFault(ctx, instanceId, fault, {
    what: 'instance build',
    fromTask: 'BUILDING',
    toTask: 'BUILDING_ERROR',
  });
  await discardFailedRestore(ctx, instanceId);
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: { replicaOfId: true, restoredFromBackupId: true },
  });
  if (row?.replicaOfId && row.restoredFromBackupId)
    await releaseReplicaSnapshot(ctx, row.restoredFromBackupId);
};

/**
 * A restore that failed leaves no half-made instance: its server (guest, database server,
 * files, volume) and its guest queue go, its address is given back; the row stays in
 * ERROR with the fault, for the tenant to read and then delete.
 */
async function discardFailedRestore(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
): Promise<void> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      restoredFromBackupId: true,
      taskStatus: true,
      computeServerId: true,
      projectId: true,
    },
  });
  if (!row?.restoredFromBackupId || row.taskStatus !== 'BUILDING_ERROR') return;
  await removeServerAndGuestQueue(ctx, instanceId, row.computeServerId);
  await ctx.prisma.instance.updateMany({
    where: { id: instanceId, taskStatus: 'BUILDING_ERROR' },
    data: { computeServerId: null, host: null, port: null, guestSecretEnc: null },
  });
  ctx.logger.warn(
    { backupId: row.restoredFromBackupId },
    'restore failed: its server and files were removed',
  );
  await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
}

export const createInstanceOperation: Operation<InstanceCreateJob> = { run, recordFailure };
