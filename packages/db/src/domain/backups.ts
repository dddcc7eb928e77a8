import { randomUUID } from 'node:crypto';

import {
  AppError,
  backupLocation,
  deriveDisplayStatus,
  type BackupType,
  type StatusInputs,
} from '@coffer/contracts';

import { lockProject, type Prisma, type PrismaClient } from '../index';
import { PROJECT_LOCK_TRANSACTION, type EnqueueTaskmanagerJob } from './jobs';
import { assertQuota, type QuotaDefaults } from './quota';

/**
 * Starting a backup and marking backups for deletion (Trove's one `Backup.create` and
 * `Backup.delete`): the rows, the instance's task and the quota, for every caller (the web
 * app's backups and replicas, the watchdog's schedules and retention, the replica build's
 * snapshot release, the worker tests). Refusals are AppErrors with a `details.reason`, so a
 * caller can say them its own way.
 */

type Tx = Prisma.TransactionClient;

export interface BackupInstance {
  id: string;
  name: string;
  datastoreVersionId: string;
}

export interface BackupStart {
  projectId: string;
  instance: BackupInstance;
  type: BackupType;
  /** The backup an incremental is built on (checked again under the project's lock). */
  parentId: string | null;
  name: string;
  isScheduled?: boolean;
  /** Defaults to a new one. */
  backupId?: string;
}

/** Why a backup could not start, in `details.reason` of the CONFLICT. */
export type BackupStartRefusal = 'NOT_ACTIVE' | 'BUSY' | 'PARENT_DELETING';

/** The instance must be ACTIVE to be backed up (a guest that reports, no task). */
export function assertCanBackUp(
  instance: Pick<StatusInputs, 'taskStatus' | 'serviceStatus' | 'lastHeartbeatAt'>,
  { now, heartbeatExpirySeconds }: Pick<StatusInputs, 'now' | 'heartbeatExpirySeconds'>,
): void {
  const status = deriveDisplayStatus({ ...instance, now, heartbeatExpirySeconds });
  if (status !== 'ACTIVE') {
    throw new AppError('CONFLICT', `The instance cannot be backed up while it is ${status}`, {
      details: { reason: 'NOT_ACTIVE' satisfies BackupStartRefusal, status },
    });
  }
}

/** The newest completed physical backup of an instance: what an incremental builds on by default. */
export async function newestPhysicalBackup(
  db: Pick<PrismaClient, 'backup'>,
  instanceId: string,
): Promise<{ id: string } | null> {
  return db.backup.findFirst({
    where: { instanceId, status: 'COMPLETED', type: { in: ['FULL', 'INCREMENTAL'] } },
    orderBy: { createdAt: 'desc' },
    select: { id: true },
  });
}

/**
 * Inside the caller's transaction: the backups quota (which locks the project, as deletes and
 * restores do, so the parent is still there to build on), the parent still COMPLETED, the
 * instance's task NONE → BACKING_UP (two clicks are one backup), and the row NEW. The store
 * kind is 'pending': the taskmanager records the store it goes to when it starts the backup
 * (only the worker knows it), and a backup deleted before that has no objects to remove.
 */
export async function insertBackup(
  tx: Tx,
  start: BackupStart,
  quotaDefaults: QuotaDefaults,
): Promise<string> {
  const { projectId, parentId } = start;
  await assertQuota(tx, projectId, { backups: 1 }, { defaults: quotaDefaults });
  if (
    parentId &&
    (await tx.backup.count({ where: { id: parentId, projectId, status: 'COMPLETED' } })) === 0
  ) {
    const message = 'The parent backup is being deleted; take a full backup instead';
    throw new AppError('CONFLICT', message, {
      details: {
        reason: 'PARENT_DELETING' satisfies BackupStartRefusal,
        fieldErrors: { parentId: [message] },
      },
    });
  }
  return insertBackupRow(tx, start);
}

/**
 * {@link insertBackup} without the quota and parent checks, for a backup that stands in for
 * one already counted (a replica's snapshot made again: replicas.ts `startReplicaReseed`):
 * the instance's task NONE → BACKING_UP, and the row NEW. The caller holds the project's lock.
 */
export async function insertBackupRow(tx: Tx, start: BackupStart): Promise<string> {
  const { projectId, instance, parentId } = start;
  const { count } = await tx.instance.updateMany({
    where: { id: instance.id, projectId, taskStatus: 'NONE', deletedAt: null },
    data: { taskStatus: 'BACKING_UP' },
  });
  if (count === 0) {
    throw new AppError(
      'CONFLICT',
      `${instance.name} is busy with another operation; try again when it is ACTIVE`,
      { details: { reason: 'BUSY' satisfies BackupStartRefusal } },
    );
  }
  const backupId = start.backupId ?? randomUUID();
  await tx.backup.create({
    data: {
      id: backupId,
      projectId,
      instanceId: instance.id,
      instanceName: instance.name,
      name: start.name,
      type: start.type,
      parentId,
      datastoreVersionId: instance.datastoreVersionId,
      isScheduled: start.isScheduled ?? false,
      storeKind: 'pending',
      location: backupLocation(projectId, backupId),
    },
  });
  return backupId;
}

export function queueBackupCreate(
  enqueue: EnqueueTaskmanagerJob,
  backupId: string,
  instanceId: string,
): Promise<unknown> {
  return enqueue('backup.create', backupId, { backupId, instanceId });
}

/** Takes back a backup no job was queued for: its NEW row, and the instance's BACKING_UP. */
export async function undoBackupStart(
  db: Pick<PrismaClient, 'backup' | 'instance'>,
  backupId: string,
  instanceId: string,
): Promise<void> {
  await db.backup.deleteMany({ where: { id: backupId, status: 'NEW' } });
  await db.instance.updateMany({
    where: { id: instanceId, taskStatus: 'BACKING_UP' },
    data: { taskStatus: 'NONE' },
  });
}

/**
 * Starts a backup a person asked for: {@link insertBackup} in its own transaction, then
 * `backup.create`. Should the job not be queued, nothing has happened yet: it is taken back
 * and the caller gets UNAVAILABLE (the cause is the queue's error).
 */
export async function startBackup(
  db: PrismaClient,
  start: BackupStart,
  { quotaDefaults, enqueue }: { quotaDefaults: QuotaDefaults; enqueue: EnqueueTaskmanagerJob },
): Promise<string> {
  const backupId = await db.$transaction(
    (tx) => insertBackup(tx, start, quotaDefaults),
    PROJECT_LOCK_TRANSACTION,
  );
  try {
    await queueBackupCreate(enqueue, backupId, start.instance.id);
  } catch (error) {
    await undoBackupStart(db, backupId, start.instance.id);
    throw new AppError('UNAVAILABLE', 'Coffer could not start the backup; try again in a moment', {
      cause: error,
    });
  }
  return backupId;
}

export interface MarkedBackup {
  id: string;
  projectId: string;
  instanceId: string;
}

/** Why backups could not be marked: one outside the set is built on them, or an instance is being restored from one. */
export type DeletionRefusal = 'BUILT_ON' | 'RESTORING';

/**
 * Inside the caller's transaction: marks backups DELETING (COMPLETED or FAILED ones; the
 * fault of a failed one goes, a failed delete writes its own) under their projects' locks,
 * which backup and restore creates take too, so nothing starts on them between the checks
 * and the mark. Refused, with nothing marked, while a backup outside `backupIds` is built on
 * one of them or an instance is being restored from one (replicas are built from their
 * snapshot). Returns the marked rows in the order of `backupIds` (dependents first, as the
 * delete job takes them).
 */
export async function markBackupsDeleting(
  tx: Tx,
  backupIds: string[],
): Promise<{ marked: MarkedBackup[] } | { refused: DeletionRefusal }> {
  const projects = await tx.backup.findMany({
    where: { id: { in: backupIds } },
    select: { projectId: true },
    distinct: ['projectId'],
    orderBy: { projectId: 'asc' },
  });
  for (const { projectId } of projects) await lockProject(tx, projectId);
  const [builtOn, restoring] = await Promise.all([
    tx.backup.count({ where: { parentId: { in: backupIds }, id: { notIn: backupIds } } }),
    tx.instance.count({
      where: { restoredFromBackupId: { in: backupIds }, taskStatus: 'BUILDING', deletedAt: null },
    }),
  ]);
  if (builtOn > 0) return { refused: 'BUILT_ON' };
  if (restoring > 0) return { refused: 'RESTORING' };
  const rows = await tx.backup.updateManyAndReturn({
    where: { id: { in: backupIds }, status: { in: ['COMPLETED', 'FAILED'] } },
    data: { status: 'DELETING', faultMessage: null },
    select: { id: true, projectId: true, instanceId: true },
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return { marked: backupIds.flatMap((id) => byId.get(id) ?? []) };
}

/** The delete job of backups marked DELETING, dependents first (the watchdog queues one again should this fail). */
export function queueBackupDelete(
  enqueue: EnqueueTaskmanagerJob,
  backupIds: string[],
): Promise<unknown> {
  return enqueue('backup.delete', backupIds[0]!, { backupIds });
}
