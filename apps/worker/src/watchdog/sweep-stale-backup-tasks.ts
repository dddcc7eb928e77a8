import { type BackupSweep } from './backup-sweep-pass';

/**
 * Stale tasks: an instance BACKING_UP with no backup NEW or BUILDING has nothing to back up
 * (its backup ended without clearing the task, or was taken back): the task ends. Only once
 * seen twice, a grace apart.
 */
export const sweepStaleBackupTasks: BackupSweep = async ({ prisma, publisher }, pass) => {
  const backingUp = await prisma.instance.findMany({
    where: { taskStatus: 'BACKING_UP', deletedAt: null },
    select: { id: true, projectId: true },
  });
  for (const instance of backingUp) {
    const active = await prisma.backup.count({
      where: { instanceId: instance.id, status: { in: ['NEW', 'BUILDING'] } },
    });
    if (active > 0) continue;
    if (!pass.isSuspect(`task:${instance.id}`)) continue;
    const { count } = await prisma.instance.updateMany({
      where: { id: instance.id, taskStatus: 'BACKING_UP' },
      data: { taskStatus: 'NONE' },
    });
    if (count === 0) continue;
    pass.report.endedTasks.push(instance.id);
    await publisher.publish({
      type: 'instance.changed',
      projectId: instance.projectId,
      instanceId: instance.id,
    });
  }
};
