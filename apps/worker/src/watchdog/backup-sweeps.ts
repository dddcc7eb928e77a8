import { randomUUID } from 'node:crypto';

import {
  backupLocation,
  deriveDisplayStatus,
  taskmanagerJobId,
  type BackupType,
} from '@coffer/contracts';
import { lockProject, type Prisma, type PrismaClient } from '@coffer/db';
import { readQuotaLimits, readQuotaUsage, UNLIMITED } from '@coffer/db/quotas';
import { type Queue } from 'bullmq';

import { removeBackupObjects } from '../backup/backup-store';
import { type ChangePublisher } from '../events';
import { type Logger } from '../logger';
import { type WorkerSettings } from '../settings';
import { enqueueTaskmanagerJob, LIVE_JOB_STATES } from '../taskmanager/enqueue';

/**
 * The watchdog's backup sweeps (one pass under the watchdog's backup lease):
 *
 * - **Schedules**: an instance whose schedule is due gets its backup the way the web app
 *   makes one (the row NEW and the instance BACKING_UP in one transaction, then
 *   `backup.create`): a full (or logical) one when `nextFullAt` has come, else a physical
 *   incremental on the newest completed physical backup of the instance. A busy or
 *   unavailable instance is tried again at the next sweep (the reason is kept as lastError).
 * - **Retention**: of an instance's scheduled full (or logical) backups, the newest
 *   `retainFullCount` completed ones are kept with their incrementals; older scheduled
 *   chains are deleted whole (never a chain with a backup a person made, nor one still being
 *   made); scheduled backups that failed before the oldest kept one go too.
 * - **Settling**: a backup NEW or BUILDING whose `backup.create` job is gone gets its job
 *   again (it resumes: a guest that died is noticed there), or FAILS when its instance is no
 *   longer backing up; an instance BACKING_UP with nothing to back up ends its task; a
 *   backup DELETING without a delete job gets one again. Each only once seen twice, a grace
 *   apart, so a request in flight is left alone.
 */

export interface BackupSweepDeps {
  prisma: PrismaClient;
  queue: Queue;
  publisher: ChangePublisher;
  settings: WorkerSettings;
  logger: Logger;
}

export interface BackupSweepReport {
  scheduled: string[];
  postponed: string[];
  expired: string[];
  requeuedCreates: string[];
  failedOrphans: string[];
  endedTasks: string[];
  requeuedDeletes: string[];
}

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

export class BackupSweeper {
  private readonly suspects = new Map<string, number>();

  constructor(private readonly deps: BackupSweepDeps) {}

  async sweep(now: Date = new Date(), { graceMs = 60_000 } = {}): Promise<BackupSweepReport> {
    const report: BackupSweepReport = {
      scheduled: [],
      postponed: [],
      expired: [],
      requeuedCreates: [],
      failedOrphans: [],
      endedTasks: [],
      requeuedDeletes: [],
    };
    const seen = new Set<string>();
    await this.runDueSchedules(now, report);
    await this.applyRetention(report);
    await this.settleBackups(now, graceMs, seen, report);
    for (const key of this.suspects.keys()) if (!seen.has(key)) this.suspects.delete(key);
    if (Object.values(report).some((ids: string[]) => ids.length > 0)) {
      this.deps.logger.info(report, 'watchdog: backup sweep acted');
    }
    return report;
  }

  private isSuspectFor(key: string, graceMs: number, now: number, seen: Set<string>): boolean {
    seen.add(key);
    const since = this.suspects.get(key);
    if (since === undefined) {
      this.suspects.set(key, now);
      return graceMs <= 0;
    }
    return now - since >= graceMs;
  }

  private async jobState(name: 'backup.create' | 'backup.delete', id: string): Promise<string> {
    const job = await this.deps.queue.getJob(taskmanagerJobId(name, id));
    return job ? await job.getState() : 'missing';
  }

  // --- Schedules ---------------------------------------------------------------------

  private async runDueSchedules(now: Date, report: BackupSweepReport): Promise<void> {
    const { prisma } = this.deps;
    const due = await prisma.backupSchedule.findMany({
      where: {
        isEnabled: true,
        OR: [{ nextFullAt: { lte: now } }, { nextIncrementalAt: { lte: now } }],
      },
      include: scheduleInclude,
    });
    for (const schedule of due) {
      try {
        await this.runSchedule(schedule, now, report);
      } catch (error) {
        this.deps.logger.warn(
          { err: error, instanceId: schedule.instanceId },
          'watchdog: a scheduled backup could not start',
        );
      }
    }
  }

  private async runSchedule(
    schedule: DueSchedule,
    now: Date,
    report: BackupSweepReport,
  ): Promise<void> {
    const { prisma, settings, publisher } = this.deps;
    const instance = schedule.instance;
    if (instance.deletedAt) return;
    const isFullDue = schedule.nextFullAt <= now;
    let type: BackupType = isFullDue ? schedule.fullType : 'INCREMENTAL';
    let parentId: string | null = null;
    if (type === 'INCREMENTAL') {
      const parent = await prisma.backup.findFirst({
        where: {
          instanceId: instance.id,
          status: 'COMPLETED',
          type: { in: ['FULL', 'INCREMENTAL'] },
        },
        orderBy: { createdAt: 'desc' },
        select: { id: true },
      });
      if (parent) parentId = parent.id;
      else type = 'FULL'; // nothing to base it on yet: a full one starts the chain
    }
    const status = deriveDisplayStatus({
      taskStatus: instance.taskStatus,
      serviceStatus: instance.serviceStatus,
      lastHeartbeatAt: instance.lastHeartbeatAt,
      now,
      heartbeatExpirySeconds: settings.heartbeatExpirySeconds,
    });
    if (status !== 'ACTIVE') {
      const lastError = `The scheduled backup could not start: the instance was ${status}. It is tried again shortly.`;
      if (schedule.lastError !== lastError) {
        await prisma.backupSchedule.update({ where: { id: schedule.id }, data: { lastError } });
      }
      report.postponed.push(instance.id);
      return;
    }
    const kind = type === 'INCREMENTAL' ? 'incremental' : type === 'LOGICAL' ? 'logical' : 'full';
    const backupId = randomUUID();
    const started = await prisma.$transaction(
      async (tx): Promise<'started' | 'busy' | { refused: string }> => {
        // Under the project's lock, which deletes and the web app's quota checks take too: the
        // parent is still there to build on, and the project's backups quota holds one more.
        await lockProject(tx, instance.projectId);
        if (
          parentId &&
          (await tx.backup.count({ where: { id: parentId, status: 'COMPLETED' } })) === 0
        )
          return { refused: 'its parent backup is being deleted' };
        const [limits, usage] = await Promise.all([
          readQuotaLimits(tx, instance.projectId, {
            instances: UNLIMITED,
            volumeGb: UNLIMITED,
            backups: settings.defaultBackupQuota,
          }),
          readQuotaUsage(tx, instance.projectId),
        ]);
        const { limit } = limits.backups;
        if (limit !== UNLIMITED && usage.backups + 1 > limit) {
          return {
            refused: `the project's backups quota is used up (${usage.backups} of ${limit}); delete backups, or ask an operator to raise the quota`,
          };
        }
        const { count } = await tx.instance.updateMany({
          where: { id: instance.id, taskStatus: 'NONE', deletedAt: null },
          data: { taskStatus: 'BACKING_UP' },
        });
        if (count === 0) return 'busy';
        await tx.backup.create({
          data: {
            id: backupId,
            projectId: instance.projectId,
            instanceId: instance.id,
            instanceName: instance.name,
            name: `scheduled ${kind} ${now.toISOString().slice(0, 16).replace('T', ' ')}`,
            type,
            parentId,
            datastoreVersionId: instance.datastoreVersionId,
            isScheduled: true,
            storeKind: settings.backupStore?.kind ?? 'local',
            location: backupLocation(instance.projectId, backupId),
          },
        });
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
        return 'started';
      },
    );
    if (started !== 'started') {
      if (started !== 'busy') {
        const lastError = `The scheduled backup could not start: ${started.refused}. It is tried again shortly.`;
        if (schedule.lastError !== lastError) {
          await prisma.backupSchedule.update({ where: { id: schedule.id }, data: { lastError } });
        }
      }
      report.postponed.push(instance.id);
      return;
    }
    // A lost enqueue is picked up by the settling sweep (a NEW backup without its job).
    await enqueueTaskmanagerJob(this.deps.queue, 'backup.create', backupId, {
      backupId,
      instanceId: instance.id,
    }).catch((error: unknown) =>
      this.deps.logger.warn(
        { err: error, backupId },
        'watchdog: could not queue a scheduled backup yet',
      ),
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

  // --- Retention ---------------------------------------------------------------------

  private async applyRetention(report: BackupSweepReport): Promise<void> {
    const { prisma } = this.deps;
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
        const chain = await this.chainOf(root.id);
        if (!chain) continue;
        await this.markForDeletion(chain, report);
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
        for (const backup of failed) await this.markForDeletion([backup.id], report);
      }
    }
  }

  /** A root and every backup built on it, dependents first; null when the chain must stay (in progress, or a person's backup in it). */
  private async chainOf(rootId: string): Promise<string[] | null> {
    const { prisma } = this.deps;
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
   * Marks backups DELETING under their project's lock (which backup and restore creates in the
   * web app take too), unless meanwhile an incremental was started on one of them or an
   * instance is being restored from one: those are left for a later sweep.
   */
  private async markForDeletion(ids: string[], report: BackupSweepReport): Promise<void> {
    const { prisma, publisher } = this.deps;
    const rows = await prisma.$transaction(async (tx) => {
      const projects = await tx.backup.findMany({
        where: { id: { in: ids } },
        select: { projectId: true },
        distinct: ['projectId'],
      });
      for (const { projectId } of projects) await lockProject(tx, projectId);
      const [builtOn, restoring] = await Promise.all([
        tx.backup.count({ where: { parentId: { in: ids }, id: { notIn: ids } } }),
        tx.instance.count({
          where: { restoredFromBackupId: { in: ids }, taskStatus: 'BUILDING', deletedAt: null },
        }),
      ]);
      if (builtOn > 0 || restoring > 0) return [];
      return tx.backup.updateManyAndReturn({
        where: { id: { in: ids }, status: { in: ['COMPLETED', 'FAILED'] } },
        data: { status: 'DELETING' },
        select: { id: true, projectId: true, instanceId: true },
      });
    });
    if (rows.length === 0) return;
    const marked = new Set(rows.map((row) => row.id));
    const backupIds = ids.filter((id) => marked.has(id));
    await enqueueTaskmanagerJob(this.deps.queue, 'backup.delete', backupIds[0]!, {
      backupIds,
    }).catch((error: unknown) =>
      this.deps.logger.warn(
        { err: error },
        'watchdog: could not queue an expired backup delete yet',
      ),
    );
    report.expired.push(...backupIds);
    for (const row of rows) {
      await publisher.publish({
        type: 'backup.changed',
        projectId: row.projectId,
        instanceId: row.instanceId,
        backupId: row.id,
      });
    }
  }

  // --- Settling ----------------------------------------------------------------------

  private async settleBackups(
    now: Date,
    graceMs: number,
    seen: Set<string>,
    report: BackupSweepReport,
  ): Promise<void> {
    const { prisma, publisher, logger } = this.deps;
    const at = now.getTime();

    const unfinished = await prisma.backup.findMany({
      where: { status: { in: ['NEW', 'BUILDING'] } },
      select: { id: true, projectId: true, instanceId: true, location: true },
    });
    for (const backup of unfinished) {
      if (LIVE_JOB_STATES.has(await this.jobState('backup.create', backup.id))) continue;
      if (!this.isSuspectFor(`create:${backup.id}`, graceMs, at, seen)) continue;
      const instance = await prisma.instance.findUnique({
        where: { id: backup.instanceId },
        select: { taskStatus: true, deletedAt: true },
      });
      if (instance && !instance.deletedAt && instance.taskStatus === 'BACKING_UP') {
        const old = await this.deps.queue.getJob(taskmanagerJobId('backup.create', backup.id));
        if (old) await old.remove().catch(() => undefined);
        await enqueueTaskmanagerJob(this.deps.queue, 'backup.create', backup.id, {
          backupId: backup.id,
          instanceId: backup.instanceId,
        });
        logger.warn({ backupId: backup.id }, 'watchdog: queued a backup whose job was lost again');
        report.requeuedCreates.push(backup.id);
      } else {
        // Nobody will finish it: FAILED, and its objects (if any) go with a delete later.
        const { count } = await prisma.backup.updateMany({
          where: { id: backup.id, status: { in: ['NEW', 'BUILDING'] } },
          data: {
            status: 'FAILED',
            faultMessage: 'The backup was interrupted and cannot be resumed.',
            finishedAt: now,
          },
        });
        if (count > 0) {
          await removeBackupObjects(this.deps.settings, backup.location);
          report.failedOrphans.push(backup.id);
          await publisher.publish({
            type: 'backup.changed',
            projectId: backup.projectId,
            instanceId: backup.instanceId,
            backupId: backup.id,
          });
        }
      }
    }

    const backingUp = await prisma.instance.findMany({
      where: { taskStatus: 'BACKING_UP', deletedAt: null },
      select: { id: true, projectId: true },
    });
    for (const instance of backingUp) {
      const active = await prisma.backup.count({
        where: { instanceId: instance.id, status: { in: ['NEW', 'BUILDING'] } },
      });
      if (active > 0) continue;
      if (!this.isSuspectFor(`task:${instance.id}`, graceMs, at, seen)) continue;
      const { count } = await prisma.instance.updateMany({
        where: { id: instance.id, taskStatus: 'BACKING_UP' },
        data: { taskStatus: 'NONE' },
      });
      if (count === 0) continue;
      report.endedTasks.push(instance.id);
      await publisher.publish({
        type: 'instance.changed',
        projectId: instance.projectId,
        instanceId: instance.id,
      });
    }

    const deleting = await prisma.backup.findMany({
      where: { status: 'DELETING', children: { none: {} } },
      select: { id: true },
    });
    if (deleting.length === 0) return;
    const liveDeletes = await this.deps.queue.getJobs([
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
    ]);
    const covered = new Set(
      liveDeletes
        .filter((job) => job?.name === 'backup.delete')
        .flatMap((job) => (job.data as { backupIds?: string[] }).backupIds ?? []),
    );
    for (const backup of deleting) {
      if (covered.has(backup.id)) continue;
      if (!this.isSuspectFor(`delete:${backup.id}`, graceMs, at, seen)) continue;
      const old = await this.deps.queue.getJob(taskmanagerJobId('backup.delete', backup.id));
      if (old) await old.remove().catch(() => undefined);
      await enqueueTaskmanagerJob(this.deps.queue, 'backup.delete', backup.id, {
        backupIds: [backup.id],
      });
      report.requeuedDeletes.push(backup.id);
    }
  }
}
