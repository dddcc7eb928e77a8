import 'server-only';

import { AppError } from '@coffer/contracts';
import { type Prisma } from '@coffer/db';
import {
  assertCanBackUp,
  markBackupsDeleting,
  newestPhysicalBackup,
  queueBackupDelete,
  startBackup,
} from '@coffer/db/domain/backups';
import { PROJECT_LOCK_TRANSACTION, stampedName } from '@coffer/db/domain/jobs';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { type createBackupInputSchema } from '~/lib/backup-schemas';
import { fieldError } from '~/server/errors';
import { publishChange } from '~/server/events';
import { domainDb, enqueueJob, heartbeatExpirySeconds } from '~/server/services/domain-db';
import { defaultQuotas, lockProjectForQuota } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { backupSelect, toBackupView, type BackupView } from './backup-view';

interface BackupContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
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
  const db = domainDb(ctx.db);
  // The datastore version's strategy (Trove's backup_strategy) decides what "a backup" is.
  const strategy = instance.datastoreVersion.backupStrategy;
  const type = input.type ?? (strategy === 'LOGICAL' ? 'LOGICAL' : 'FULL');
  if (type === 'INCREMENTAL' && strategy === 'LOGICAL') {
    throw fieldError(
      'type',
      'This datastore version backs up logically (mariadb-dump), which has no incremental backups',
    );
  }
  assertCanBackUp(instance, { now: new Date(), heartbeatExpirySeconds: heartbeatExpirySeconds() });

  let parentId: string | null = null;
  if (type === 'INCREMENTAL') {
    const wantedId = input.parentId ?? (await newestPhysicalBackup(db, instance.id))?.id;
    const parent = wantedId
      ? await ctx.db.backup.findFirst({
          where: { id: wantedId },
          select: {
            id: true,
            instanceId: true,
            type: true,
            status: true,
            datastoreVersionId: true,
          },
        })
      : null;
    if (!parent) {
      // ctx.db is scoped to the project: another project's backup is one that does not exist.
      throw input.parentId
        ? fieldError('parentId', 'Backup not found', 'NOT_FOUND')
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

  let backupId: string;
  try {
    backupId = await startBackup(
      db,
      {
        projectId: ctx.projectId,
        instance,
        type,
        parentId,
        name: input.name ?? stampedName(type.toLowerCase(), new Date()),
      },
      { quotaDefaults: defaultQuotas(), enqueue: enqueueJob },
    );
  } catch (error) {
    if (error instanceof AppError && error.code === 'UNAVAILABLE')
      ctx.log.error({ err: error.cause }, 'could not queue backup.create');
    throw error;
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
  return getBackup(ctx, backupId);
}

/** Every backup built on `backupId`, nearest first (breadth-first). */
async function dependentsOf(db: Pick<Prisma.TransactionClient, 'backup'>, backupId: string) {
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
  // The plain client's types over the scoped client (services/domain-db.ts): still scoped.
  const marked = await domainDb(ctx.db).$transaction(async (tx) => {
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
    const result = await markBackupsDeleting(tx, backupIds);
    if ('refused' in result) {
      throw new AppError(
        'CONFLICT',
        result.refused === 'RESTORING'
          ? `An instance is being restored from ${backupIds.length === 1 ? 'this backup' : 'this chain'} (replicas are built from their snapshot); delete it once that is done`
          : 'An incremental backup is being built on this chain; delete it once that is done',
      );
    }
    return { backupIds, dependents };
  }, PROJECT_LOCK_TRANSACTION);
  if (!marked) return getBackup(ctx, backupId);
  const { backupIds, dependents } = marked;
  try {
    await queueBackupDelete(enqueueJob, backupIds);
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
