import { randomUUID } from 'node:crypto';

import { AppError, type BackupType } from '@coffer/contracts';
import { type Prisma } from '@coffer/db';
import {
  assertCanBackUp,
  insertBackup,
  newestPhysicalBackup,
  queueBackupCreate,
  type BackupStartRefusal,
} from '@coffer/db/domain/backups';
import { PROJECT_LOCK_TRANSACTION, stampedName } from '@coffer/db/domain/jobs';
import { type QuotaExceeded } from '@coffer/db/domain/quota';
import { UNLIMITED } from '@coffer/db/quotas';

import {
  enqueueOn,
  type BackupSweep,
  type BackupSweepDeps,
  type BackupSweepPass,
} from './backup-sweep-pass';

/**
 * Schedules: an instance whose schedule is due gets its backup as any backup starts (the
 * domain's insertBackup: the backups quota, the row NEW and the instance BACKING_UP), the
 * schedule's next times moved in the same transaction, then `backup.create`: a full (or
 * logical) one when `nextFullAt` has come, else a physical incremental on the newest
 * completed physical backup of the instance. A busy or unavailable instance is tried again at
 * the next sweep (the reason is kept as lastError).
 */

const scheduleInclude = {
  instance: {
    select: {
      id: true,
      projectId: true,
      name: true,
      taskStatus: true,
      serviceStatus: true,
      lastHeartbeatAt: true,
      deletedAt: true,
      datastoreVersionId: true,
    },
  },
} as const satisfies Prisma.BackupScheduleInclude;

type DueSchedule = Prisma.BackupScheduleGetPayload<{ include: typeof scheduleInclude }>;

function minutesFrom(now: Date, minutes: number): Date {
  return new Date(now.getTime() + minutes * 60_000);
}

export const sweepBackupSchedules: BackupSweep = async (deps, pass) => {
  const due = await deps.prisma.backupSchedule.findMany({
    where: {
      isEnabled: true,
      OR: [{ nextFullAt: { lte: pass.now } }, { nextIncrementalAt: { lte: pass.now } }],
    },
    include: scheduleInclude,
  });
  for (const schedule of due) {
    try {
      await runSchedule(deps, schedule, pass);
    } catch (error) {
      deps.logger.warn(
        { err: error, instanceId: schedule.instanceId },
        'watchdog: a scheduled backup could not start',
      );
    }
  }
};

/** Why a due backup waits, for the schedule's lastError; null when it merely waits its turn (the instance is busy). */
function whyRefused(error: unknown): string | null {
  if (!(error instanceof AppError)) throw error;
  if (error.code === 'QUOTA_EXCEEDED') {
    const { inUse, limit } = error.details?.quota as QuotaExceeded;
    return `the project's backups quota is used up (${inUse} of ${limit}); delete backups, or ask an operator to raise the quota`;
  }
  const reason = error.details?.reason as BackupStartRefusal | undefined;
  if (reason === 'NOT_ACTIVE') return `the instance was ${String(error.details?.status)}`;
  if (reason === 'PARENT_DELETING') return 'its parent backup is being deleted';
  if (reason === 'BUSY') return null;
  throw error;
}

async function runSchedule(
  deps: BackupSweepDeps,
  schedule: DueSchedule,
  { now, report }: BackupSweepPass,
): Promise<void> {
  const { prisma, settings, publisher } = deps;
  const instance = schedule.instance;
  if (instance.deletedAt) return;
  const isFullDue = schedule.nextFullAt <= now;
  let type: BackupType = isFullDue ? schedule.fullType : 'INCREMENTAL';
  let parentId: string | null = null;
  if (type === 'INCREMENTAL') {
    const parent = await newestPhysicalBackup(prisma, instance.id);
    if (parent) parentId = parent.id;
    else type = 'FULL'; // nothing to base it on yet: a full one starts the chain
  }
  const kind = type === 'INCREMENTAL' ? 'incremental' : type === 'LOGICAL' ? 'logical' : 'full';
  const backupId = randomUUID();
  try {
    assertCanBackUp(instance, { now, heartbeatExpirySeconds: settings.heartbeatExpirySeconds });
    await prisma.$transaction(async (tx) => {
      await insertBackup(
        tx,
        {
          backupId,
          projectId: instance.projectId,
          instance,
          type,
          parentId,
          name: stampedName(`scheduled ${kind}`, now),
          isScheduled: true,
        },
        { instances: UNLIMITED, volumeGb: UNLIMITED, backups: settings.defaultBackupQuota },
      );
      await tx.backupSchedule.update({
        where: { id: schedule.id },
        data: {
          lastRunAt: now,
          lastError: null,
          ...(isFullDue
            ? {
                nextFullAt: minutesFrom(now, schedule.fullIntervalMinutes),
                nextIncrementalAt:
                  schedule.fullType === 'FULL' && schedule.incrementalIntervalMinutes
                    ? minutesFrom(now, schedule.incrementalIntervalMinutes)
                    : null,
              }
            : {
                nextIncrementalAt: schedule.incrementalIntervalMinutes
                  ? minutesFrom(now, schedule.incrementalIntervalMinutes)
                  : null,
              }),
        },
      });
    }, PROJECT_LOCK_TRANSACTION);
  } catch (error) {
    const refused = whyRefused(error);
    if (refused !== null) {
      const lastError = `The scheduled backup could not start: ${refused}. It is tried again shortly.`;
      if (schedule.lastError !== lastError) {
        await prisma.backupSchedule.update({ where: { id: schedule.id }, data: { lastError } });
      }
    }
    report.postponed.push(instance.id);
    return;
  }
  // A lost enqueue is picked up by the lost-creates sweep (a NEW backup without its job).
  await queueBackupCreate(enqueueOn(deps.queue), backupId, instance.id).catch((error: unknown) =>
    deps.logger.warn({ err: error, backupId }, 'watchdog: could not queue a scheduled backup yet'),
  );
  report.scheduled.push(backupId);
  await publisher.publish({
    type: 'backup.changed',
    projectId: instance.projectId,
    instanceId: instance.id,
    backupId,
  });
  await publisher.publish({
    type: 'instance.changed',
    projectId: instance.projectId,
    instanceId: instance.id,
  });
}
