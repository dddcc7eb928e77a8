import { isHeartbeatFresh, type BackupCreateJob } from '@coffer/contracts';
import { type Prisma } from '@coffer/db';
import { isReseedSnapshot } from '@coffer/db/domain/replicas';
import { GuestClient } from '@coffer/guest-client';

import { writeBackupSlo } from '../backup/backup-slo';
import { removeBackupObjects, requireBackupStore, sealBackupAccess } from '../backup/backup-store';
import { sourceStreamFor } from '../replication/direct-stream';
import { throwIfAborted, waitForInstance } from '../events';
import { openGuestSecret } from '../guest-secret';
import { guestInstanceSelect } from './guest-instance';
import { skipped, type Operation, type OperationContext } from './operation';

/**
 * `backup.create` (Trove's create_backup): the web app wrote the backup (NEW) and set the
 * instance BACKING_UP in one transaction. Steps, each safe to run again:
 *
 * 1. Load both; a backup that already ended only needs the instance's task cleared (unless
 *    a next backup of the instance holds it: a job handed back late leaves that one alone).
 * 2. A NEW backup: cast `create_backup` with the job id `backup-<backupId>` (a retried job
 *    never starts a second one), the project's key and the store sealed for the guest.
 * 3. Wait, on change events, for the conductor to apply COMPLETED or FAILED. If the guest
 *    goes silent (no heartbeat within the expiry: it died or hangs), the backup FAILS here:
 *    its partial objects are removed and the server is rebooted, so the guest comes back
 *    (and, finding its marker, refuses the stale job).
 * 4. COMPLETED in Swift: the backup's chunks also as one Static Large Object (backup-slo.ts);
 *    a failure there is logged, the backup stays COMPLETED (Coffer never reads it).
 * 5. The instance's task: BACKING_UP → NONE (clearTask).
 */

const backupSelect = {
  id: true,
  projectId: true,
  instanceId: true,
  type: true,
  status: true,
  location: true,
  storeKind: true,
  parent: { select: { id: true, status: true, incrementalBase: true } },
} as const satisfies Prisma.BackupSelect;

/** The guest's RPC job id of a backup. */
export function backupJobId(backupId: string): string {
  return `backup-${backupId}`;
}

type BackupRow = Prisma.BackupGetPayload<{ select: typeof backupSelect }>;

async function failBackup(
  ctx: Omit<OperationContext, 'signal'>,
  backup: Pick<BackupRow, 'id' | 'projectId' | 'instanceId' | 'location'>,
  message: string,
): Promise<void> {
  const { count } = await ctx.prisma.backup.updateMany({
    where: { id: backup.id, status: { in: ['NEW', 'BUILDING'] } },
    data: { status: 'FAILED', faultMessage: message.slice(0, 2000), finishedAt: new Date() },
  });
  await removePartialObjects(ctx, backup);
  if (count > 0) {
    ctx.logger.warn({ backupId: backup.id, fault: message }, 'backup failed');
    await ctx.publisher.publish({
      type: 'backup.changed',
      projectId: backup.projectId,
      instanceId: backup.instanceId,
      backupId: backup.id,
    });
  }
}

async function removePartialObjects(
  ctx: Omit<OperationContext, 'signal'>,
  backup: Pick<BackupRow, 'id' | 'location'>,
): Promise<void> {
  const outcome = await removeBackupObjects(ctx.settings, backup.location);
  if ('error' in outcome) {
    ctx.logger.warn(
      { err: outcome.error, backupId: backup.id },
      'could not remove the objects of a failed backup',
    );
  } else if (outcome.removed > 0) {
    ctx.logger.info(
      { backupId: backup.id, removed: outcome.removed },
      'removed the objects of a failed backup',
    );
  }
}

/** The backup's Static Large Object (Swift): logged, never failing the backup. */
async function writeSlo(
  ctx: Omit<OperationContext, 'signal'>,
  backup: Pick<BackupRow, 'id' | 'location'>,
): Promise<void> {
  try {
    const outcome = await writeBackupSlo(ctx.settings, backup.location);
    if (outcome.kind === 'written') {
      ctx.logger.info({ backupId: backup.id, ...outcome }, 'wrote the backup as a Swift SLO');
    }
  } catch (error) {
    ctx.logger.warn(
      { err: error, backupId: backup.id },
      'could not write the backup as a Swift SLO (the backup is complete; Swift tools see its chunks only)',
    );
  }
}

/**
 * The instance's task BACKING_UP → NONE, unless another backup of it is under way: the task
 * names no backup, and a job handed back after its backup ended (its taskmanager was killed,
 * the watchdog ended the task, and a next backup began) must not end that next backup's task.
 * The instance's row is locked first, so a backup starting meanwhile is seen.
 */
async function clearTask(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
  ownBackupId: string | null,
): Promise<void> {
  const rows = await ctx.prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM instances WHERE id = ${instanceId}::uuid FOR UPDATE`;
    const others = await tx.backup.count({
      where: {
        instanceId,
        status: { in: ['NEW', 'BUILDING'] },
        ...(ownBackupId ? { id: { not: ownBackupId } } : {}),
      },
    });
    if (others > 0) return [];
    return tx.instance.updateManyAndReturn({
      where: { id: instanceId, taskStatus: 'BACKING_UP' },
      data: { taskStatus: 'NONE' },
      select: { projectId: true },
    });
  });
  if (rows[0])
    await ctx.publisher.publish({
      type: 'instance.changed',
      projectId: rows[0].projectId,
      instanceId,
    });
}

type Waited =
  | { kind: 'ended'; status: 'COMPLETED' | 'FAILED' }
  | { kind: 'instance-gone'; reason: string }
  | { kind: 'guest-silent' };

const run: Operation<BackupCreateJob>['run'] = async (ctx, payload) => {
  const { backupId, instanceId } = payload;
  const backup = await ctx.prisma.backup.findUnique({
    where: { id: backupId },
    select: backupSelect,
  });
  if (!backup || backup.instanceId !== instanceId) {
    await clearTask(ctx, instanceId, backupId);
    return skipped('the backup no longer exists');
  }
  if (backup.status !== 'NEW' && backup.status !== 'BUILDING') {
    await clearTask(ctx, instanceId, backupId);
    return skipped(`the backup is ${backup.status}`);
  }
  const instance = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: guestInstanceSelect,
  });
  if (!instance || instance.deletedAt || instance.taskStatus !== 'BACKING_UP') {
    await failBackup(
      ctx,
      backup,
      'The backup was stopped: its instance is being deleted or is busy with something else.',
    );
    return skipped('the instance is not backing up');
  }
  if (!instance.guestSecretEnc) {
    await failBackup(ctx, backup, 'The instance has no guest to make the backup.');
    await clearTask(ctx, instanceId, backupId);
    return { outcome: 'failed', fault: { message: 'no guest' } };
  }

  if (backup.status === 'NEW') {
    if (
      backup.type === 'INCREMENTAL' &&
      (backup.parent?.status !== 'COMPLETED' || !backup.parent.incrementalBase)
    ) {
      await failBackup(
        ctx,
        backup,
        'The incremental backup cannot be made: its parent backup is not a completed physical backup.',
      );
      await clearTask(ctx, instanceId, backupId);
      return { outcome: 'failed', fault: { message: 'parent not completed' } };
    }
    // The store it goes to is this control plane's (the web app does not know it).
    await ctx.prisma.backup.updateMany({
      where: { id: backupId, status: 'NEW' },
      data: { storeKind: requireBackupStore(ctx.settings).kind },
    });
    const guestSecret = openGuestSecret(
      ctx.settings.masterKey,
      instanceId,
      instance.guestSecretEnc,
    );
    // A replica's snapshot is followed by the replicas' restores while it is written.
    const isFollowed =
      backup.type === 'FULL' &&
      (await ctx.prisma.instance.count({
        where: { restoredFromBackupId: backupId, replicaOfId: { not: null } },
      })) > 0;
    const client = new GuestClient({ connection: ctx.redis, instanceId, guestSecret });
    try {
      throwIfAborted(ctx.signal);
      await client.cast(
        'create_backup',
        {
          backupId,
          type: backup.type,
          parent:
            backup.type === 'INCREMENTAL' && backup.parent?.incrementalBase
              ? { backupId: backup.parent.id, base: backup.parent.incrementalBase }
              : null,
          location: backup.location,
          chunkBytes: ctx.settings.backupChunkBytes,
          uploadConcurrency: ctx.settings.backupUploadConcurrency,
          // A snapshot lives only until its replicas are built: the cheapest level, so that
          // compressing it and unpacking it at the same time leave the CPUs to the tools.
          compressionLevel: isFollowed ? 1 : ctx.settings.backupZstdLevel,
          isFollowed,
          // Sent straight to the replicas' guests when the provider says how (issue 18).
          // A replica's snapshot made again after its stream failed is stored (reseed-replica.ts),
          // as its rows say (a job queued again knows it too).
          ...(isFollowed && !(await isReseedSnapshot(ctx.prisma, backupId))
            ? await sourceStreamFor(ctx, client, instanceId, backupId)
            : {}),
          ...sealBackupAccess(client, ctx.settings, backup.projectId, backupId),
        },
        { jobId: backupJobId(backupId) },
      );
    } finally {
      await client.close();
    }
    ctx.logger.info({ backupId, type: backup.type }, 'backup asked of the guest');
  }

  const waited = await waitForEnd(ctx, backupId, instanceId);
  switch (waited.kind) {
    case 'instance-gone':
      await failBackup(ctx, backup, 'The backup was stopped: its instance is being deleted.');
      return skipped(waited.reason);
    case 'guest-silent': {
      await failBackup(
        ctx,
        backup,
        'The backup failed: the guest stopped responding while it was being made.',
      );
      await bringGuestBack(ctx, instanceId, instance.computeServerId);
      await clearTask(ctx, instanceId, backupId);
      return { outcome: 'failed', fault: { message: 'the guest stopped responding' } };
    }
    case 'ended':
      if (waited.status === 'FAILED') {
        // The guest removed what it stored; make sure (it may have been unable to).
        await removePartialObjects(ctx, backup);
      } else {
        await writeSlo(ctx, backup);
      }
      await clearTask(ctx, instanceId, backupId);
      ctx.logger.info({ backupId, status: waited.status }, 'backup ended');
      return waited.status === 'COMPLETED'
        ? { outcome: 'done' }
        : { outcome: 'failed', fault: { message: 'the guest reported FAILED' } };
  }
};

/** Until the backup ends, the instance stops backing up, or its guest falls silent. */
async function waitForEnd(
  ctx: OperationContext,
  backupId: string,
  instanceId: string,
): Promise<Waited> {
  // Silence is judged from when this wait began at the earliest: heartbeats that came while
  // no conductor was running (a worker restarted, its job handed back) are still in the
  // stream, not yet in the row, and do not make a live guest look dead.
  const watchingSince = new Date();
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    async () => ({
      backup: await ctx.prisma.backup.findUnique({
        where: { id: backupId },
        select: { status: true },
      }),
      instance: await ctx.prisma.instance.findUnique({
        where: { id: instanceId },
        select: guestInstanceSelect,
      }),
    }),
    ({ backup, instance }): Waited | undefined => {
      if (backup?.status === 'COMPLETED' || backup?.status === 'FAILED')
        return { kind: 'ended', status: backup.status };
      if (!backup) return { kind: 'ended', status: 'FAILED' };
      if (!instance || instance.deletedAt || instance.taskStatus !== 'BACKING_UP') {
        return {
          kind: 'instance-gone',
          reason: `the instance is ${instance?.taskStatus ?? 'gone'}`,
        };
      }
      const heardAt =
        instance.lastHeartbeatAt && instance.lastHeartbeatAt > watchingSince
          ? instance.lastHeartbeatAt
          : watchingSince;
      if (!isHeartbeatFresh(heardAt, new Date(), ctx.settings.heartbeatExpirySeconds)) {
        return { kind: 'guest-silent' };
      }
      return undefined;
    },
    {
      // The job's own timeout (jobs.ts) bounds a backup; this wait ends with it.
      timeoutMs: Number.MAX_SAFE_INTEGER,
      fallbackMs: Math.max(ctx.settings.tuning.waitFallbackMs, 1000),
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) return { kind: 'guest-silent' };
  return result.value;
}

/** A guest that died mid-backup: reboot its server (the guest comes back and adopts its database server), and wait for it. */
async function bringGuestBack(
  ctx: OperationContext,
  instanceId: string,
  serverId: string | null,
): Promise<void> {
  if (!serverId) return;
  const since = Date.now();
  try {
    await ctx.provider.rebootServer(serverId);
  } catch (error) {
    ctx.logger.warn({ err: error }, 'could not reboot the server after its guest fell silent');
    return;
  }
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    () =>
      ctx.prisma.instance.findUnique({ where: { id: instanceId }, select: guestInstanceSelect }),
    (row) =>
      !row ||
      row.taskStatus !== 'BACKING_UP' ||
      (row.serviceStatus === 'RUNNING' &&
        row.lastHeartbeatAt &&
        row.lastHeartbeatAt.getTime() > since)
        ? true
        : undefined,
    {
      timeoutMs: ctx.settings.tuning.restartHeartbeatTimeoutMs,
      fallbackMs: ctx.settings.tuning.waitFallbackMs,
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) ctx.logger.warn('the guest did not come back after the reboot');
  else ctx.logger.info('the guest is back after the reboot');
}

/** A failure for good (or a job that could not run): the instance's unfinished backups FAIL, their objects go, the task clears. */
const recordFailure: Operation<BackupCreateJob>['recordFailure'] = async (
  ctx,
  instanceId,
  fault,
) => {
  const running = await ctx.prisma.backup.findMany({
    where: { instanceId, status: { in: ['NEW', 'BUILDING'] } },
    select: { id: true, projectId: true, instanceId: true, location: true },
  });
  for (const backup of running)
    await failBackup(ctx, backup, `The backup failed: ${fault.message}`);
  await clearTask(ctx, instanceId, null);
};

export const createBackupOperation: Operation<BackupCreateJob> = { run, recordFailure };
