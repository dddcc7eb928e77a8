import 'server-only';

import { AppError, type DatastoreDefinition } from '@coffer/contracts';
import { jobPayloadKey, sealSecret } from '@coffer/contracts/crypto';
import { Prisma, type PrismaClient } from '@coffer/db';
import { type Logger } from 'pino';
import type { z } from 'zod';

import { env } from '~/env';
import { type createInstanceInputSchema } from '~/lib/instance-schemas';
import { fieldError } from '~/server/errors';
import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { defaultBackupSchedule } from '~/server/services/backup/default-backup-schedule';
import { restoreNeededVolumeGb } from '~/server/services/backup/restore-size';
import { assertQuota } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { requireGroupFor } from '~/server/services/configuration/configuration-groups';
import { requireDatastoreDefinition } from './instance-datastore';
import { instanceSelect, toInstanceView, type InstanceView } from './instance-view';

type Input = z.output<typeof createInstanceInputSchema>;

/** Creates of one project queue for its lock: give them time to get a connection and their turn. */
const QUOTA_TRANSACTION = { maxWait: 15_000, timeout: 20_000 } as const;

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/** The backup an instance is restored from: of this project, completed, of the version asked for (if any). */
async function findRestorableBackup(
  db: ProjectScopedDb,
  input: Input,
): Promise<{ id: string; datastoreVersionId: string }> {
  const backup = await db.backup.findFirst({
    where: { id: input.restoreFromBackupId },
    select: { id: true, status: true, datastoreVersionId: true },
  });
  if (!backup) {
    throw fieldError('restoreFromBackupId', 'Backup not found', 'NOT_FOUND');
  }
  if (backup.status !== 'COMPLETED') {
    throw fieldError(
      'restoreFromBackupId',
      `This backup is ${backup.status}: only a completed backup can be restored`,
      'CONFLICT',
    );
  }
  if (input.datastoreVersionId && input.datastoreVersionId !== backup.datastoreVersionId) {
    throw fieldError(
      'datastoreVersionId',
      'A backup is restored with the datastore version it was made with',
    );
  }
  return backup;
}

/** Initial users' hosts must fall inside the requested allowed sources (the datastore's rule). */
function requireUserHostsWithinAccess(datastore: DatastoreDefinition, input: Input): void {
  const sources = {
    isPublic: input.access?.isPublic ?? false,
    cidrs: input.access?.allowedCidrs ?? [],
  };
  const fieldErrors: Record<string, string[]> = {};
  input.users.forEach((user, index) => {
    const outside = datastore.userHostOutsideSources(user.host, sources);
    if (outside) fieldErrors[`users.${index}.host`] = [outside];
  });
  const first = Object.values(fieldErrors)[0]?.[0];
  if (first) throw new AppError('BAD_REQUEST', first, { details: { fieldErrors } });
}

/**
 * Creates an instance: checks the order against the catalog, writes the row in BUILD, and
 * hands the work to the taskmanager as one job with a deterministic id. Passwords travel
 * sealed with the job-payload key and are never stored.
 */
export async function createInstance(
  ctx: { db: ProjectScopedDb; rootDb: PrismaClient; projectId: string; log: Logger },
  input: Input,
): Promise<InstanceView> {
  if (input.requestId) {
    const existing = await ctx.db.instance.findFirst({
      where: { createRequestId: input.requestId },
      select: instanceSelect,
    });
    if (existing) return toInstanceView(existing);
  }

  const flavor = await ctx.rootDb.flavor.findFirst({
    where: { id: input.flavorId, isDisabled: false },
    select: { id: true },
  });
  if (!flavor) throw fieldError('flavorId', 'This flavor does not exist or is no longer offered');

  // A restore: a completed backup of this project (another project's is "not found"), with its datastore version.
  const restoreFrom = input.restoreFromBackupId ? await findRestorableBackup(ctx.db, input) : null;

  const version = await ctx.rootDb.datastoreVersion.findFirst({
    where: restoreFrom
      ? { id: restoreFrom.datastoreVersionId }
      : input.datastoreVersionId
        ? { id: input.datastoreVersionId, isActive: true }
        : { isActive: true, isDefault: true },
    select: { id: true, backupStrategy: true, datastore: { select: { manager: true } } },
  });
  if (!version)
    throw fieldError(
      'datastoreVersionId',
      'This datastore version does not exist or is not active',
    );
  requireUserHostsWithinAccess(requireDatastoreDefinition(version.datastore.manager), input);

  if (input.configurationGroupId) {
    await requireGroupFor(ctx.db, input.configurationGroupId, version.id);
  }

  if (input.volumeSizeGb > env.COFFER_MAX_VOLUME_GB) {
    throw fieldError('volumeSizeGb', `Volume size must be at most ${env.COFFER_MAX_VOLUME_GB} GB`);
  }

  if (restoreFrom) {
    const neededGb = await restoreNeededVolumeGb(ctx.db, restoreFrom.id);
    if (input.volumeSizeGb < neededGb) {
      throw fieldError(
        'volumeSizeGb',
        `This backup needs a volume of at least ${neededGb} GB (${input.volumeSizeGb} GB asked for)`,
      );
    }
  }
  const backupSchedule = defaultBackupSchedule(input.backups, version.backupStrategy);

  let outcome;
  try {
    // The quota check, the name check and the insert in one transaction, with the project
    // locked: concurrent creates take turns, so neither the quota nor a name can be taken twice.
    outcome = await ctx.db.$transaction(async (tx) => {
      await assertQuota(
        tx,
        ctx.projectId,
        { instances: 1, volumeGb: input.volumeSizeGb },
        { fields: { volumeGb: 'volumeSizeGb' } },
      );
      // Under the lock: a submit of the same request that went first is the answer to this one.
      if (input.requestId) {
        const earlier = await tx.instance.findFirst({
          where: { createRequestId: input.requestId },
          select: instanceSelect,
        });
        if (earlier) return { row: earlier, isNew: false };
      }
      // Under the lock, which a backup delete takes too: the backup is still there to restore.
      if (
        restoreFrom &&
        (await tx.backup.count({ where: { id: restoreFrom.id, status: 'COMPLETED' } })) === 0
      ) {
        throw fieldError(
          'restoreFromBackupId',
          'This backup is being deleted: it can no longer be restored',
          'CONFLICT',
        );
      }
      const clash = await tx.instance.findFirst({
        where: { name: input.name, deletedAt: null },
        select: { id: true },
      });
      if (clash)
        throw fieldError(
          'name',
          'An instance with this name already exists in the project',
          'CONFLICT',
        );
      const created = await tx.instance.create({
        data: {
          projectId: ctx.projectId,
          name: input.name,
          flavorId: flavor.id,
          datastoreVersionId: version.id,
          volumeSizeGb: input.volumeSizeGb,
          isPublic: input.access?.isPublic ?? false,
          allowedCidrs: input.access?.allowedCidrs ?? [],
          taskStatus: 'BUILDING',
          serviceStatus: 'NEW',
          createRequestId: input.requestId ?? null,
          restoredFromBackupId: restoreFrom?.id ?? null,
          configurationGroupId: input.configurationGroupId ?? null,
        },
        select: instanceSelect,
      });
      if (backupSchedule) {
        await tx.backupSchedule.create({
          data: { ...backupSchedule, projectId: ctx.projectId, instanceId: created.id },
        });
      }
      return { row: created, isNew: true };
    }, QUOTA_TRANSACTION);
  } catch (error) {
    // Two submits with one request id raced: the first one's instance is the answer to both.
    if (input.requestId && isUniqueViolation(error)) {
      const existing = await ctx.db.instance.findFirst({
        where: { createRequestId: input.requestId },
        select: instanceSelect,
      });
      if (existing) return toInstanceView(existing);
    }
    throw error;
  }
  const { row } = outcome;
  if (!outcome.isNew) return toInstanceView(row);

  const key = jobPayloadKey(env.COFFER_MASTER_KEY);
  try {
    await enqueueTaskmanagerJob('instance.create', row.id, {
      instanceId: row.id,
      databases: input.databases,
      users: input.users.map((user) => ({
        name: user.name,
        host: user.host,
        databases: user.databases,
        password: sealSecret(key, user.password, `user:${user.name}`),
      })),
      ...(restoreFrom ? { restoreFromBackupId: restoreFrom.id } : {}),
    });
  } catch (error) {
    // Nothing has happened yet: take the row back rather than leave an instance no one builds.
    await ctx.db.instance.delete({ where: { id: row.id } });
    ctx.log.error({ err: error }, 'could not queue instance.create');
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start building the instance; try again in a moment',
      { cause: error },
    );
  }
  ctx.log.info({ instanceId: row.id, name: row.name }, 'instance create accepted');
  await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId: row.id });
  return toInstanceView(row);
}
