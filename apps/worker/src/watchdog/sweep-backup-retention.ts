import { markBackupsDeleting, queueBackupDelete } from '@coffer/db/domain/backups';

import {
  enqueueOn,
  type BackupSweep,
  type BackupSweepDeps,
  type BackupSweepPass,
} from './backup-sweep-pass';

/**
 * Retention: of an instance's scheduled full (or logical) backups, the newest
 * `retainFullCount` completed ones are kept with their incrementals; older scheduled chains
 * are deleted whole (never a chain with a backup a person made, nor one still being made);
 * scheduled backups that failed before the oldest kept one go too.
 */
export const sweepBackupRetention: BackupSweep = async (deps, pass) => {
  const { prisma } = deps;
  const schedules = await prisma.backupSchedule.findMany({
    select: { instanceId: true, retainFullCount: true },
  });
  for (const { instanceId, retainFullCount } of schedules) {
    const roots = await prisma.backup.findMany({
      where: {
        instanceId,
        isScheduled: true,
        type: { in: ['FULL', 'LOGICAL'] },
        status: 'COMPLETED',
      },
      orderBy: { createdAt: 'desc' },
      select: { id: true, createdAt: true },
    });
    const kept = roots.slice(0, Math.max(1, retainFullCount));
    const expired = roots.slice(kept.length);
    for (const root of expired) {
      const chain = await chainOf(deps, root.id);
      if (!chain) continue;
      await expire(deps, chain, pass);
    }
    // Scheduled backups that failed before the oldest kept chain hold no objects: their rows go too.
    const oldestKept = kept.at(-1);
    if (oldestKept) {
      const failed = await prisma.backup.findMany({
        where: {
          instanceId,
          isScheduled: true,
          status: 'FAILED',
          createdAt: { lt: oldestKept.createdAt },
          children: { none: {} },
        },
        select: { id: true },
      });
      for (const backup of failed) await expire(deps, [backup.id], pass);
    }
  }
};

/** A root and every backup built on it, dependents first; null when the chain must stay (in progress, or a person's backup in it). */
async function chainOf({ prisma }: BackupSweepDeps, rootId: string): Promise<string[] | null> {
  const order: string[] = [];
  let level = [rootId];
  while (level.length > 0) {
    const rows = await prisma.backup.findMany({
      where: { id: { in: level } },
      select: { id: true, status: true, isScheduled: true, children: { select: { id: true } } },
    });
    for (const row of rows) {
      if (
        !row.isScheduled ||
        row.status === 'NEW' ||
        row.status === 'BUILDING' ||
        row.status === 'DELETING'
      )
        return null;
      order.push(row.id);
    }
    level = rows.flatMap((row) => row.children.map((child) => child.id));
  }
  return order.reverse();
}

/**
 * Marks the backups DELETING (the domain's markBackupsDeleting, under their projects' locks)
 * and queues their delete; refused when meanwhile an incremental was started on one of them
 * or an instance is being restored from one: those are left for a later sweep.
 */
async function expire(
  deps: BackupSweepDeps,
  ids: string[],
  { report }: BackupSweepPass,
): Promise<void> {
  const result = await deps.prisma.$transaction((tx) => markBackupsDeleting(tx, ids));
  if ('refused' in result || result.marked.length === 0) return;
  const backupIds = result.marked.map((row) => row.id);
  await queueBackupDelete(enqueueOn(deps.queue), backupIds).catch((error: unknown) =>
    deps.logger.warn({ err: error }, 'watchdog: could not queue an expired backup delete yet'),
  );
  report.expired.push(...backupIds);
  for (const row of result.marked) {
    await deps.publisher.publish({
      type: 'backup.changed',
      projectId: row.projectId,
      instanceId: row.instanceId,
      backupId: row.id,
    });
  }
}
