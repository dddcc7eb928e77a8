import { type BackupDeleteJob } from '@coffer/contracts';

import { openBackupStore } from '../backup/backup-store';
import { throwIfAborted } from '../events';
import { OperationFailure, type Operation } from './operation';

/**
 * `backup.delete` (Trove's backup delete): the web app marked the backups DELETING (one, or a
 * whole chain, dependents first) and this removes, for each in order, its objects from the
 * store and then its row, and says so. Idempotent: a backup already gone is skipped, objects
 * already gone are nothing to remove.
 */

const run: Operation<BackupDeleteJob>['run'] = async (ctx, payload) => {
  const store = openBackupStore(ctx.settings);
  try {
    for (const backupId of payload.backupIds) {
      throwIfAborted(ctx.signal);
      const backup = await ctx.prisma.backup.findUnique({
        where: { id: backupId },
        select: {
          id: true,
          projectId: true,
          instanceId: true,
          status: true,
          location: true,
          storeKind: true,
        },
      });
      if (!backup) continue;
      if (backup.status !== 'DELETING') {
        ctx.logger.warn(
          { backupId, status: backup.status },
          'a backup to delete is no longer DELETING: left alone',
        );
        continue;
      }
      // 'pending': it never reached a guest, so it has no objects.
      if (backup.storeKind !== store.kind && backup.storeKind !== 'pending') {
        throw new OperationFailure(
          `Backup ${backupId} is stored in a ${backup.storeKind} store, which this Coffer no longer uses; its objects cannot be removed from here.`,
        );
      }
      // Nothing may still be built on it: its objects stay until its dependents are gone.
      const children = await ctx.prisma.backup.count({ where: { parentId: backupId } });
      if (children > 0) {
        throw new OperationFailure(
          `Backup ${backupId} cannot be deleted: ${children} backup(s) still depend on it.`,
        );
      }
      const removed =
        backup.storeKind === 'pending' ? 0 : await store.deletePrefix(backup.location);
      await ctx.prisma.backup.deleteMany({ where: { id: backupId, status: 'DELETING' } });
      ctx.logger.info({ backupId, removed }, 'backup deleted');
      await ctx.publisher.publish({
        type: 'backup.deleted',
        projectId: backup.projectId,
        instanceId: backup.instanceId,
        backupId,
      });
    }
  } finally {
    await store.close();
  }
  return { outcome: 'done' };
};

/**
 * A delete that keeps failing stays DELETING with the reason on the backup (the id given is
 * the first backup of the job: jobs.ts); the watchdog asks again later.
 */
const recordFailure: Operation<BackupDeleteJob>['recordFailure'] = async (ctx, backupId, fault) => {
  const rows = await ctx.prisma.backup.updateManyAndReturn({
    where: { id: backupId },
    data: { faultMessage: fault.message },
    select: { projectId: true, instanceId: true },
  });
  const [row] = rows;
  if (!row) return;
  ctx.logger.error({ backupId, fault: fault.message }, 'backup delete failed');
  await ctx.publisher.publish({
    type: 'backup.changed',
    projectId: row.projectId,
    instanceId: row.instanceId,
    backupId,
  });
};

export const deleteBackupOperation: Operation<BackupDeleteJob> = { run, recordFailure };
