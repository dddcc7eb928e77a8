import 'server-only';

import { AppError } from '@coffer/contracts';
import { type z } from 'zod';

import { type backupScheduleInputSchema } from '~/lib/backup-schemas';
import { type ProjectScopedDb } from '~/server/tenancy';

export const backupScheduleSelect = {
  instanceId: true,
  isEnabled: true,
  fullType: true,
  fullIntervalMinutes: true,
  incrementalIntervalMinutes: true,
  retainFullCount: true,
  nextFullAt: true,
  nextIncrementalAt: true,
  lastRunAt: true,
  lastError: true,
} as const;

async function requireInstance(db: ProjectScopedDb, instanceId: string) {
  const instance = await db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: { id: true, datastoreVersion: { select: { backupStrategy: true } } },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  return instance;
}

export async function getBackupSchedule(db: ProjectScopedDb, instanceId: string) {
  await requireInstance(db, instanceId);
  return db.backupSchedule.findFirst({ where: { instanceId }, select: backupScheduleSelect });
}

/**
 * Sets an instance's schedule, run by the watchdog. A new (or re-enabled) schedule makes its
 * first full backup at the watchdog's next sweep; an unchanged interval keeps its next run.
 */
export async function setBackupSchedule(
  db: ProjectScopedDb,
  projectId: string,
  input: z.output<typeof backupScheduleInputSchema>,
) {
  const instance = await requireInstance(db, input.instanceId);
  if (
    input.incrementalIntervalMinutes !== null &&
    instance.datastoreVersion.backupStrategy === 'LOGICAL'
  ) {
    const message =
      'This datastore version backs up logically (mariadb-dump), which has no incremental backups';
    throw new AppError('BAD_REQUEST', message, {
      details: { fieldErrors: { incrementalIntervalMinutes: [message] } },
    });
  }
  const now = new Date();
  const existing = await db.backupSchedule.findFirst({ where: { instanceId: input.instanceId } });
  const keepsFull =
    existing !== null &&
    existing.isEnabled &&
    input.isEnabled &&
    existing.fullIntervalMinutes === input.fullIntervalMinutes &&
    existing.fullType === input.fullType;
  const keepsIncremental =
    keepsFull && existing.incrementalIntervalMinutes === input.incrementalIntervalMinutes;
  const nextIncrementalAt =
    input.incrementalIntervalMinutes === null
      ? null
      : keepsIncremental && existing.nextIncrementalAt
        ? existing.nextIncrementalAt
        : new Date(now.getTime() + input.incrementalIntervalMinutes * 60_000);
  const data = {
    isEnabled: input.isEnabled,
    fullType: input.fullType,
    fullIntervalMinutes: input.fullIntervalMinutes,
    incrementalIntervalMinutes: input.incrementalIntervalMinutes,
    retainFullCount: input.retainFullCount,
    nextFullAt: keepsFull ? existing.nextFullAt : now,
    nextIncrementalAt,
    lastError: null,
  };
  return db.backupSchedule.upsert({
    where: { instanceId: input.instanceId },
    create: { ...data, projectId, instanceId: input.instanceId },
    update: data,
    select: backupScheduleSelect,
  });
}

export async function deleteBackupSchedule(db: ProjectScopedDb, instanceId: string): Promise<void> {
  await requireInstance(db, instanceId);
  await db.backupSchedule.deleteMany({ where: { instanceId } });
}
