import { enqueueTaskmanagerJob } from '../taskmanager/enqueue';
import { removeJob, type BackupSweep } from './backup-sweep-pass';

/**
 * Lost deletes: a backup DELETING (with nothing built on it any more) that no live
 * `backup.delete` job names gets a delete job of its own. Only once seen twice, a grace apart.
 */
export const sweepLostBackupDeletes: BackupSweep = async ({ prisma, queue }, pass) => {
  const deleting = await prisma.backup.findMany({
    where: { status: 'DELETING', children: { none: {} } },
    select: { id: true },
  });
  if (deleting.length === 0) return;
  const liveJobs = await queue.getJobs([
    'waiting',
    'active',
    'delayed',
    'prioritized',
    'waiting-children',
  ]);
  const covered = new Set(
    liveJobs
      .filter((job) => job?.name === 'backup.delete')
      .flatMap((job) => (job.data as { backupIds?: string[] }).backupIds ?? []),
  );
  for (const backup of deleting) {
    if (covered.has(backup.id)) continue;
    if (!pass.isSuspect(`delete:${backup.id}`)) continue;
    await removeJob(queue, 'backup.delete', backup.id);
    await enqueueTaskmanagerJob(queue, 'backup.delete', backup.id, { backupIds: [backup.id] });
    pass.report.requeuedDeletes.push(backup.id);
  }
};
