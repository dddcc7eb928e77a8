import { removeBackupObjects } from '../backup/backup-store';
import { enqueueTaskmanagerJob, LIVE_JOB_STATES } from '../taskmanager/enqueue';
import { jobState, removeJob, type BackupSweep } from './backup-sweep-pass';

/**
 * Lost creates: a backup NEW or BUILDING whose `backup.create` job is gone gets its job again
 * (it resumes: a guest that died is noticed there), or FAILS when its instance is no longer
 * backing up. Only once seen twice, a grace apart.
 */
export const sweepLostBackupCreates: BackupSweep = async (deps, { now, report, isSuspect }) => {
  const { prisma, publisher, logger, queue } = deps;
  const unfinished = await prisma.backup.findMany({
    where: { status: { in: ['NEW', 'BUILDING'] } },
    select: { id: true, projectId: true, instanceId: true, location: true },
  });
  for (const backup of unfinished) {
    if (LIVE_JOB_STATES.has(await jobState(queue, 'backup.create', backup.id))) continue;
    if (!isSuspect(`create:${backup.id}`)) continue;
    const instance = await prisma.instance.findUnique({
      where: { id: backup.instanceId },
      select: { taskStatus: true, deletedAt: true },
    });
    if (instance && !instance.deletedAt && instance.taskStatus === 'BACKING_UP') {
      await removeJob(queue, 'backup.create', backup.id);
      await enqueueTaskmanagerJob(queue, 'backup.create', backup.id, {
        backupId: backup.id,
        instanceId: backup.instanceId,
      });
      logger.warn({ backupId: backup.id }, 'watchdog: queued a backup whose job was lost again');
      report.requeuedCreates.push(backup.id);
      continue;
    }
    // Nobody will finish it: FAILED, and its objects (if any) go with a delete later.
    const { count } = await prisma.backup.updateMany({
      where: { id: backup.id, status: { in: ['NEW', 'BUILDING'] } },
      data: {
        status: 'FAILED',
        faultMessage: 'The backup was interrupted and cannot be resumed.',
        finishedAt: now,
      },
    });
    if (count === 0) continue;
    await removeBackupObjects(deps.settings, backup.location);
    report.failedOrphans.push(backup.id);
    await publisher.publish({
      type: 'backup.changed',
      projectId: backup.projectId,
      instanceId: backup.instanceId,
      backupId: backup.id,
    });
  }
};
