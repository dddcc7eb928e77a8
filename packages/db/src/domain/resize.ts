import {
  AppError,
  deriveDisplayStatus,
  type ResizeFlavor,
  type ResizeState,
  type StatusInputs,
} from '@coffer/contracts';

import { Prisma, type PrismaClient } from '../index';
import { PROJECT_LOCK_TRANSACTION, type EnqueueTaskmanagerJob } from './jobs';
import { assertQuota, lockProjectOrNotFound, type QuotaDefaults } from './quota';

/**
 * Resize and rename (issue 13; Trove's resize_flavor, resize_volume and the instance's name),
 * for every caller (the web app's API, the worker tests, the bench): the checks, the row
 * RESIZING with its `resizeState` in one conditional update (two clicks are one resize), the
 * volume quota in the same transaction under the project's lock (as creates), then the
 * `instance.resize` job. Refusals are AppErrors (`details.reason` for the state ones, field
 * errors for input); nothing changes when one is thrown.
 */

type Tx = Prisma.TransactionClient;

/** Why a resize could not start, in `details.reason` of the CONFLICT. */
export type ResizeRefusal = 'NOT_ACTIVE' | 'REPLICA_NOT_ACTIVE';

export interface ResizeOptions {
  enqueue: EnqueueTaskmanagerJob;
  heartbeatExpirySeconds: number;
  now?: Date;
}

const resizeInstanceSelect = {
  id: true,
  name: true,
  projectId: true,
  taskStatus: true,
  serviceStatus: true,
  lastHeartbeatAt: true,
  volumeSizeGb: true,
  replicaOfId: true,
  flavor: { select: { id: true, name: true, vcpus: true, ramMb: true, maxVolumeGb: true } },
} as const satisfies Prisma.InstanceSelect;

type ResizeInstance = Prisma.InstanceGetPayload<{ select: typeof resizeInstanceSelect }>;

function fieldError(field: string, message: string): AppError {
  return new AppError('BAD_REQUEST', message, { details: { fieldErrors: { [field]: [message] } } });
}

async function findInstance(tx: Tx, projectId: string, instanceId: string) {
  const row = await tx.instance.findFirst({
    where: { id: instanceId, projectId, deletedAt: null },
    select: resizeInstanceSelect,
  });
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  return row;
}

/** A resize starts only on an ACTIVE instance with nothing under way (a guest that reports, no task). */
export function assertCanResize(
  instance: Pick<StatusInputs, 'taskStatus' | 'serviceStatus' | 'lastHeartbeatAt'> & {
    name: string;
  },
  { now, heartbeatExpirySeconds }: Pick<StatusInputs, 'now' | 'heartbeatExpirySeconds'>,
  reason: ResizeRefusal = 'NOT_ACTIVE',
): void {
  const status = deriveDisplayStatus({ ...instance, now, heartbeatExpirySeconds });
  if (status !== 'ACTIVE' || instance.taskStatus !== 'NONE') {
    // Waiting does not end RESTART_REQUIRED: a restart does (it applies the waiting values).
    const until =
      status === 'RESTART_REQUIRED' && instance.taskStatus === 'NONE'
        ? 'restart it first (configuration values wait for a restart), then resize'
        : 'wait until it is ACTIVE';
    const message =
      reason === 'NOT_ACTIVE'
        ? `The instance cannot be resized while it is ${status}: ${until}`
        : `Replica ${instance.name} cannot be resized while it is ${status}: ${until}, or resize without replicas`;
    throw new AppError('CONFLICT', message, { details: { reason, status } });
  }
}

/** NONE → RESIZING with the record, only if nothing started meanwhile. */
async function markResizing(
  tx: Tx,
  instance: ResizeInstance,
  state: ResizeState,
  extra: Prisma.InstanceUpdateManyMutationInput = {},
): Promise<void> {
  const { count } = await tx.instance.updateMany({
    where: { id: instance.id, taskStatus: 'NONE', deletedAt: null },
    data: { taskStatus: 'RESIZING', resizeState: state, ...extra },
  });
  if (count === 0) {
    throw new AppError('CONFLICT', `${instance.name} is busy with another operation: try again`, {
      details: { reason: 'NOT_ACTIVE' satisfies ResizeRefusal },
    });
  }
}

/** Queues each member's resize; when one cannot be queued, every member is put back as it was. */
async function queueResizes(
  db: PrismaClient,
  enqueue: EnqueueTaskmanagerJob,
  members: { id: string; volumeSizeGb: number }[],
): Promise<void> {
  try {
    for (const member of members) {
      await enqueue('instance.resize', member.id, { instanceId: member.id });
    }
  } catch (error) {
    for (const member of members) {
      await db.instance.updateMany({
        where: { id: member.id, taskStatus: 'RESIZING' },
        data: { taskStatus: 'NONE', resizeState: Prisma.DbNull, volumeSizeGb: member.volumeSizeGb },
      });
    }
    throw new AppError('UNAVAILABLE', 'Coffer could not start the resize; try again in a moment', {
      cause: error,
    });
  }
}

export interface FlavorResizeStart {
  projectId: string;
  instanceId: string;
  flavorId: string;
}

/**
 * Starts a flavor resize: the instance ACTIVE, the flavor offered (not disabled), another one
 * than the instance has, and allowing the instance's volume. The row's flavor changes only
 * when the resize succeeds.
 */
export async function startFlavorResize(
  db: PrismaClient,
  start: FlavorResizeStart,
  { enqueue, heartbeatExpirySeconds, now = new Date() }: ResizeOptions,
): Promise<void> {
  const instance = await db.$transaction(async (tx) => {
    const row = await findInstance(tx, start.projectId, start.instanceId);
    const flavor = await tx.flavor.findFirst({
      where: { id: start.flavorId, isDisabled: false },
      select: { id: true, name: true, vcpus: true, ramMb: true, maxVolumeGb: true },
    });
    if (!flavor) throw fieldError('flavorId', 'This flavor does not exist or is no longer offered');
    if (flavor.id === row.flavor.id)
      throw fieldError('flavorId', `The instance already has flavor ${flavor.name}`);
    if (row.volumeSizeGb > flavor.maxVolumeGb) {
      throw fieldError(
        'flavorId',
        `Flavor ${flavor.name} allows volumes of at most ${flavor.maxVolumeGb} GB; this instance has ${row.volumeSizeGb} GB`,
      );
    }
    assertCanResize(row, { now, heartbeatExpirySeconds });
    const size = (f: typeof flavor): ResizeFlavor => ({
      flavorId: f.id,
      name: f.name,
      vcpus: f.vcpus,
      ramMb: f.ramMb,
    });
    await markResizing(tx, row, {
      kind: 'flavor',
      from: size(row.flavor),
      to: size(flavor),
      startedAt: now.toISOString(),
    });
    return row;
  }, PROJECT_LOCK_TRANSACTION);
  await queueResizes(db, enqueue, [instance]);
}

export interface VolumeResizeStart {
  projectId: string;
  instanceId: string;
  volumeGb: number;
  /** Grow the instance's replicas (those smaller) to the same size, each with its own resize. */
  includeReplicas?: boolean;
}

/**
 * Starts growing a volume (never shrinking): the instance ACTIVE (and each replica grown with
 * it), the size within its flavor's maximum, and the project's volume quota able to take the
 * growth, checked under the project's lock in the transaction that records the new size (the
 * quota counts `volumeSizeGb`, so the growth is reserved at once; a resize that fails gives
 * back what the volume did not get). Returns the ids of the instances being resized.
 */
export async function startVolumeResize(
  db: PrismaClient,
  start: VolumeResizeStart,
  {
    enqueue,
    heartbeatExpirySeconds,
    quotaDefaults,
    now = new Date(),
  }: ResizeOptions & { quotaDefaults: QuotaDefaults },
): Promise<string[]> {
  const { volumeGb } = start;
  if (!Number.isInteger(volumeGb) || volumeGb <= 0)
    throw fieldError('volumeGb', 'Volume size must be a whole number of GB');
  const members = await db.$transaction(async (tx) => {
    await lockProjectOrNotFound(tx, start.projectId);
    const row = await findInstance(tx, start.projectId, start.instanceId);
    if (volumeGb <= row.volumeSizeGb) {
      throw fieldError(
        'volumeGb',
        volumeGb === row.volumeSizeGb
          ? `The volume is already ${volumeGb} GB`
          : `A volume only grows: ${row.volumeSizeGb} GB cannot become ${volumeGb} GB`,
      );
    }
    if (volumeGb > row.flavor.maxVolumeGb) {
      throw fieldError(
        'volumeGb',
        `Flavor ${row.flavor.name} allows volumes of at most ${row.flavor.maxVolumeGb} GB`,
      );
    }
    assertCanResize(row, { now, heartbeatExpirySeconds });
    const growing = [row];
    if (start.includeReplicas) {
      const replicas = await tx.instance.findMany({
        where: { replicaOfId: row.id, projectId: start.projectId, deletedAt: null },
        select: resizeInstanceSelect,
        orderBy: { createdAt: 'asc' },
      });
      for (const replica of replicas) {
        if (replica.volumeSizeGb >= volumeGb) continue;
        if (volumeGb > replica.flavor.maxVolumeGb) {
          throw fieldError(
            'volumeGb',
            `Replica ${replica.name}'s flavor ${replica.flavor.name} allows volumes of at most ${replica.flavor.maxVolumeGb} GB`,
          );
        }
        assertCanResize(replica, { now, heartbeatExpirySeconds }, 'REPLICA_NOT_ACTIVE');
        growing.push(replica);
      }
    }
    const growthGb = growing.reduce((sum, member) => sum + volumeGb - member.volumeSizeGb, 0);
    // The lock is already held (taken first, so the reads above see what the quota sees).
    await assertQuota(
      tx,
      start.projectId,
      { volumeGb: growthGb },
      { defaults: quotaDefaults, fields: { volumeGb: 'volumeGb' } },
    );
    for (const member of growing) {
      await markResizing(
        tx,
        member,
        {
          kind: 'volume',
          fromGb: member.volumeSizeGb,
          toGb: volumeGb,
          startedAt: now.toISOString(),
        },
        { volumeSizeGb: volumeGb },
      );
    }
    return growing.map((member) => ({ id: member.id, volumeSizeGb: member.volumeSizeGb }));
  }, PROJECT_LOCK_TRANSACTION);
  await queueResizes(db, enqueue, members);
  return members.map((member) => member.id);
}

export interface Rename {
  projectId: string;
  instanceId: string;
  /** Already validated as a create's name (contracts' instanceNameSchema). */
  name: string;
}

/**
 * Renames an instance: names are unique among a project's live instances (checked under the
 * project's lock, which creates take too). Allowed whatever the instance is doing, except
 * being deleted. The same name again changes nothing.
 */
export async function renameInstance(db: PrismaClient, rename: Rename): Promise<boolean> {
  return db.$transaction(async (tx) => {
    await lockProjectOrNotFound(tx, rename.projectId);
    const row = await tx.instance.findFirst({
      where: { id: rename.instanceId, projectId: rename.projectId, deletedAt: null },
      select: { id: true, name: true, taskStatus: true },
    });
    if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
    if (row.taskStatus === 'DELETING')
      throw new AppError('CONFLICT', 'The instance is being deleted: it cannot be renamed');
    if (row.name === rename.name) return false;
    const clash = await tx.instance.findFirst({
      where: { projectId: rename.projectId, name: rename.name, deletedAt: null },
      select: { id: true },
    });
    if (clash) {
      const message = 'An instance with this name already exists in the project';
      throw new AppError('CONFLICT', message, { details: { fieldErrors: { name: [message] } } });
    }
    await tx.instance.update({ where: { id: row.id }, data: { name: rename.name } });
    return true;
  }, PROJECT_LOCK_TRANSACTION);
}
