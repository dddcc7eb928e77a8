import 'server-only';

import { randomUUID } from 'node:crypto';

import { AppError, backupLocation, deriveDisplayStatus } from '@coffer/contracts';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { env } from '~/env';
import { type createBackupInputSchema } from '~/lib/backup-schemas';
import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { assertBackupQuota, lockProjectForQuota } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { backupSelect, toBackupView, type BackupView } from './backup-view';

interface BackupContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** Backups of one project wait for their project's lock with the other quota checks. */
const QUOTA_TRANSACTION = { maxWait: 15_000, timeout: 20_000 } as const;

function fieldError(
  field: string,
  message: string,
  code: 'BAD_REQUEST' | 'CONFLICT' = 'BAD_REQUEST',
): AppError {
  return new AppError(code, message, { details: { fieldErrors: { [field]: [message] } } });
}

/** The backup of this project, or "not found" (another project's id included). */
export async function getBackup(
  ctx: Pick<BackupContext, 'db'>,
  backupId: string,
): Promise<BackupView> {
  const row = await ctx.db.backup.findFirst({ where: { id: backupId }, select: backupSelect });
  if (!row) throw new AppError('NOT_FOUND', 'Backup not found');
  return toBackupView(row);
}

export async function listBackups(
  ctx: Pick<BackupContext, 'db'>,
  filter: { instanceId?: string },
): Promise<BackupView[]> {
  const rows = await ctx.db.backup.findMany({
    where: filter.instanceId ? { instanceId: filter.instanceId } : {},
    select: backupSelect,
    orderBy: { createdAt: 'desc' },
    take: 1000,
  });
  return rows.map(toBackupView);
}

/**
 * Starts a backup (Trove's backup create): the instance must be ACTIVE; in one transaction the
 * quota is checked, the instance's task becomes BACKING_UP (so two clicks are one backup) and
 * the backup is written NEW; then the taskmanager gets `backup.create`. An incremental is
 * based on the given parent, or on the instance's newest completed physical backup.
 */
export async function createBackup(
  ctx: BackupContext,
  input: z.output<typeof createBackupInputSchema>,
): Promise<BackupView> {
  const instance = await ctx.db.instance.findFirst({
    where: { id: input.instanceId, deletedAt: null },
    select: {
      id: true,
      name: true,
      datastoreVersionId: true,
      taskStatus: true,
      serviceStatus: true,
      lastHeartbeatAt: true,
      datastoreVersion: { select: { backupStrategy: true } },
    },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  // The datastore version's strategy (Trove's backup_strategy) decides what "a backup" is.
  const strategy = instance.datastoreVersion.backupStrategy;
  const type = input.type ?? (strategy === 'LOGICAL' ? 'LOGICAL' : 'FULL');
  if (type === 'INCREMENTAL' && strategy === 'LOGICAL') {
    throw fieldError(
      'type',
      'This datastore version backs up logically (mariadb-dump), which has no incremental backups',
    );
  }
  const status = deriveDisplayStatus({
    taskStatus: instance.taskStatus,
    serviceStatus: instance.serviceStatus,
    lastHeartbeatAt: instance.lastHeartbeatAt,
    now: new Date(),
    heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
  });
  if (status !== 'ACTIVE')
    throw new AppError('CONFLICT', `The instance cannot be backed up while it is ${status}`);

  let parentId: string | null = null;
  if (type === 'INCREMENTAL') {
    const parent = await ctx.db.backup.findFirst({
      where: input.parentId
        ? { id: input.parentId }
        : { instanceId: instance.id, status: 'COMPLETED', type: { in: ['FULL', 'INCREMENTAL'] } },
      orderBy: { createdAt: 'desc' },
      select: { id: true, instanceId: true, type: true, status: true, datastoreVersionId: true },
    });
    if (!parent) {
      // ctx.db is scoped to the project: another project's backup is one that does not exist.
      throw input.parentId
        ? new AppError('NOT_FOUND', 'Backup not found', {
            details: { fieldErrors: { parentId: ['Backup not found'] } },
          })
        : fieldError(
            'type',
            'An incremental backup needs a completed full backup of this instance first',
          );
    }
    if (parent.instanceId !== instance.id) {
      throw fieldError(
        'parentId',
        'This backup is of another instance; an incremental backup follows a backup of its own instance',
      );
    }
    if (parent.type === 'LOGICAL')
      throw fieldError(
        'parentId',
        'An incremental backup can only follow a full or incremental backup',
      );
    if (parent.status !== 'COMPLETED')
      throw fieldError(
        'parentId',
        'An incremental backup can only follow a completed backup',
        'CONFLICT',
      );
    if (parent.datastoreVersionId !== instance.datastoreVersionId) {
      throw fieldError('parentId', 'The parent backup was made with another datastore version');
    }
    parentId = parent.id;
  } else if (input.parentId) {
    throw fieldError('parentId', 'Only an incremental backup has a parent');
  }

  const backupId = randomUUID();
  const row = await ctx.db.$transaction(async (tx) => {
    await assertBackupQuota(tx, ctx.projectId);
    // Under the project's lock, which a delete takes too: the parent is still there to build on.
    if (
      parentId &&
      (await tx.backup.count({ where: { id: parentId, status: 'COMPLETED' } })) === 0
    ) {
      throw fieldError(
        'parentId',
        'The parent backup is being deleted; take a full backup instead',
        'CONFLICT',
      );
    }
    const { count } = await tx.instance.updateMany({
      where: { id: instance.id, taskStatus: 'NONE', deletedAt: null },
      data: { taskStatus: 'BACKING_UP' },
    });
    if (count === 0)
      throw new AppError(
        'CONFLICT',
        'The instance is busy with another operation; try again when it is ACTIVE',
      );
    return tx.backup.create({
      data: {
        id: backupId,
        projectId: ctx.projectId,
        instanceId: instance.id,
        instanceName: instance.name,
        name:
          input.name ??
          `${type.toLowerCase()} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
        type,
        parentId,
        datastoreVersionId: instance.datastoreVersionId,
        // The taskmanager records the store it goes to when it starts the backup.
        storeKind: 'pending',
        location: backupLocation(ctx.projectId, backupId),
      },
      select: backupSelect,
    });
  }, QUOTA_TRANSACTION);

  try {
    await enqueueTaskmanagerJob('backup.create', backupId, { backupId, instanceId: instance.id });
  } catch (error) {
    // Nothing has happened yet: take it back rather than leave a backup no one makes.
    await ctx.db.backup.deleteMany({ where: { id: backupId, status: 'NEW' } });
    await ctx.db.instance.updateMany({
      where: { id: instance.id, taskStatus: 'BACKING_UP' },
      data: { taskStatus: 'NONE' },
    });
    ctx.log.error({ err: error }, 'could not queue backup.create');
    throw new AppError('UNAVAILABLE', 'Coffer could not start the backup; try again in a moment', {
      cause: error,
    });
  }
  ctx.log.info({ backupId, instanceId: instance.id, type }, 'backup accepted');
  await publishChange({
    type: 'backup.changed',
    projectId: ctx.projectId,
    instanceId: instance.id,
    backupId,
  });
  await publishChange({
    type: 'instance.changed',
    projectId: ctx.projectId,
    instanceId: instance.id,
  });
  return toBackupView(row);
}

/** Every backup built on `backupId`, nearest first (breadth-first). */
async function dependentsOf(db: Pick<ProjectScopedDb, 'backup'>, backupId: string) {
  const found: Array<{ id: string; status: string; instanceId: string }> = [];
  let level = [backupId];
  while (level.length > 0 && found.length < 10_000) {
    const children = await db.backup.findMany({
      where: { parentId: { in: level } },
      select: { id: true, status: true, instanceId: true },
    });
    found.push(...children);
    level = children.map((child) => child.id);
  }
  return found;
}

/**
 * Deletes a backup (Trove's backup delete): refused while incrementals depend on it, unless
 * the whole chain from it is asked for; refused while it (or a dependent) is being made, or an
 * instance is being restored from it (or from a dependent, which needs it). The checks and the
 * marking happen under the project's lock, which backup and restore creates take too, so no
 * incremental or restore can start on a backup between its checks and its DELETING. The
 * taskmanager then removes the objects, then the rows, dependents first.
 */
export async function deleteBackup(
  ctx: BackupContext,
  { backupId, includeDependents }: { backupId: string; includeDependents: boolean },
): Promise<BackupView> {
  const backup = await getBackup(ctx, backupId);
  if (backup.status === 'DELETING') return backup;
  const marked = await ctx.db.$transaction(async (tx) => {
    await lockProjectForQuota(tx, ctx.projectId);
    const current = await tx.backup.findFirst({
      where: { id: backupId },
      select: { status: true },
    });
    if (!current) throw new AppError('NOT_FOUND', 'Backup not found');
    if (current.status === 'DELETING') return null;
    if (current.status === 'NEW' || current.status === 'BUILDING') {
      throw new AppError(
        'CONFLICT',
        'This backup is being made; delete it once it has completed or failed',
      );
    }
    const dependents = await dependentsOf(tx, backupId);
    if (dependents.length > 0 && !includeDependents) {
      throw new AppError(
        'CONFLICT',
        `${dependents.length} incremental backup${dependents.length === 1 ? ' depends' : 's depend'} on this backup; delete ${dependents.length === 1 ? 'it' : 'them'} first, or delete the whole chain`,
        { details: { dependents: dependents.map((dependent) => dependent.id) } },
      );
    }
    if (
      dependents.some((dependent) => dependent.status === 'NEW' || dependent.status === 'BUILDING')
    ) {
      throw new AppError(
        'CONFLICT',
        'A backup of this chain is being made; delete the chain once it has completed or failed',
      );
    }
    // Dependents first, deepest last found first: each goes before what it is built on.
    const backupIds = [...dependents.map((dependent) => dependent.id).reverse(), backupId];
    const restoring = await tx.instance.count({
      where: {
        restoredFromBackupId: { in: backupIds },
        taskStatus: 'BUILDING',
        deletedAt: null,
      },
    });
    if (restoring > 0) {
      throw new AppError(
        'CONFLICT',
        `An instance is being restored from ${backupIds.length === 1 ? 'this backup' : 'this chain'} (replicas are built from their snapshot); delete it once that is done`,
      );
    }
    await tx.backup.updateMany({
      where: { id: { in: backupIds }, status: { in: ['COMPLETED', 'FAILED'] } },
      data: { status: 'DELETING', faultMessage: null },
    });
    return { backupIds, dependents };
  }, QUOTA_TRANSACTION);
  if (!marked) return getBackup(ctx, backupId);
  const { backupIds, dependents } = marked;
  try {
    await enqueueTaskmanagerJob('backup.delete', backupIds[0]!, { backupIds });
  } catch (error) {
    // The watchdog queues deletes of DELETING backups that have no job; say it is under way anyway.
    ctx.log.warn({ err: error }, 'could not queue backup.delete; the watchdog will');
  }
  ctx.log.info({ backupIds }, 'backup delete accepted');
  for (const [id, instanceId] of [
    ...dependents.map((dependent) => [dependent.id, dependent.instanceId] as const),
    [backupId, backup.instanceId] as const,
  ]) {
    await publishChange({
      type: 'backup.changed',
      projectId: ctx.projectId,
      instanceId,
      backupId: id,
    });
  }
  return getBackup(ctx, backupId);
}
