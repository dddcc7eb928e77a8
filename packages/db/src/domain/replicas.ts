import { randomUUID } from 'node:crypto';

import {
  AppError,
  deriveDisplayStatus,
  INSTANCE_NAME_MAX,
  type DisplayStatus,
  type TaskmanagerJobName,
  type TaskStatus,
} from '@coffer/contracts';

import { lockProject, type Prisma, type PrismaClient } from '../index';
import { insertBackup, insertBackupRow, queueBackupCreate, undoBackupStart } from './backups';
import { PROJECT_LOCK_TRANSACTION, stampedName, type EnqueueTaskmanagerJob } from './jobs';
import { assertQuota, type QuotaDefaults } from './quota';

/**
 * Starting replication's operations (Trove's replication API), for the web app and the
 * worker tests alike: create replicas of an instance, promote a replica to source, eject a
 * source that is gone, detach a replica. Each checks the instances of the project (another
 * project's is "not found"), moves every instance involved to its task in one transaction
 * (so two clicks are one operation, and nothing else starts meanwhile), and queues the job;
 * should the job not be queued, the tasks go back and the caller gets UNAVAILABLE. Each
 * returns the ids of the instances it changed: telling the consoles is the caller's.
 */

export interface ReplicaOperationInput {
  projectId: string;
  instanceId: string;
  heartbeatExpirySeconds: number;
  enqueue: EnqueueTaskmanagerJob;
}

const memberSelect = {
  id: true,
  name: true,
  taskStatus: true,
  serviceStatus: true,
  lastHeartbeatAt: true,
  replicaOfId: true,
  replicationState: true,
  replicationError: true,
  volumeSizeGb: true,
  flavorId: true,
  datastoreVersionId: true,
  configurationGroupId: true,
} as const satisfies Prisma.InstanceSelect;

type Member = Prisma.InstanceGetPayload<{ select: typeof memberSelect }>;

function conflict(message: string): AppError {
  return new AppError('CONFLICT', message);
}

function statusOf(member: Member, heartbeatExpirySeconds: number): DisplayStatus {
  return deriveDisplayStatus({
    taskStatus: member.taskStatus,
    serviceStatus: member.serviceStatus,
    lastHeartbeatAt: member.lastHeartbeatAt,
    now: new Date(),
    heartbeatExpirySeconds,
  });
}

async function findMember(
  db: Pick<PrismaClient, 'instance'>,
  projectId: string,
  instanceId: string,
) {
  const member = await db.instance.findFirst({
    where: { id: instanceId, projectId, deletedAt: null },
    select: memberSelect,
  });
  if (!member) throw new AppError('NOT_FOUND', 'Instance not found');
  return member;
}

function replicasOf(db: PrismaClient, projectId: string, sourceId: string): Promise<Member[]> {
  return db.instance.findMany({
    where: { replicaOfId: sourceId, projectId, deletedAt: null },
    select: memberSelect,
    orderBy: { createdAt: 'asc' },
  });
}

/**
 * Moves every member from NONE to `task` in one transaction, then queues `name`; if any
 * member is busy (or was changed meanwhile) none moves (CONFLICT); if the job cannot be
 * queued nothing has happened yet, so the tasks go back to NONE (UNAVAILABLE).
 */
async function claimAndQueue(
  db: PrismaClient,
  { enqueue }: Pick<ReplicaOperationInput, 'enqueue'>,
  name: TaskmanagerJobName & `replica.${string}`,
  instanceId: string,
  ids: string[],
  task: TaskStatus,
): Promise<string[]> {
  await db.$transaction(async (tx) => {
    const { count } = await tx.instance.updateMany({
      where: { id: { in: ids }, taskStatus: 'NONE', deletedAt: null },
      data: { taskStatus: task },
    });
    if (count !== ids.length)
      throw conflict(
        'An instance of this replication set is busy with another operation; try again when it is done',
      );
  });
  try {
    await enqueue(name, instanceId, { instanceId });
  } catch (error) {
    await db.instance.updateMany({
      where: { id: { in: ids }, taskStatus: task },
      data: { taskStatus: 'NONE' },
    });
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start the operation; try again in a moment',
      { cause: error },
    );
  }
  return ids;
}

/** Names for new replicas: the one asked for, or `<stem>`, `<stem>-2`… that no live instance of the project has. */
function replicaNames(
  stem: string,
  count: number,
  isExplicit: boolean,
  taken: Set<string>,
): string[] {
  if (count === 1 && isExplicit) return [stem];
  const names: string[] = [];
  for (let index = 1; names.length < count; index++) {
    const candidate =
      index === 1 && count === 1
        ? stem
        : `${stem.slice(0, INSTANCE_NAME_MAX - String(index).length - 1)}-${index}`;
    if (!taken.has(candidate)) names.push(candidate);
  }
  return names;
}

export interface ReplicasInput {
  projectId: string;
  sourceInstanceId: string;
  count: number;
  /**
   * The replicas' configuration group (issue 15): of the project, for the source's version;
   * the source's group when left out (replicas follow their source unless given their own).
   */
  configurationGroupId?: string;
  /** The replica's name (one replica) or the stem of their names; `<source>-replica` by default. */
  name?: string;
  heartbeatExpirySeconds: number;
  quotaDefaults: QuotaDefaults;
  enqueue: EnqueueTaskmanagerJob;
}

/**
 * Creates replicas of an instance (Trove's create with replica_of and replica_count): in one
 * transaction the quota is checked (each replica is an instance with the source's flavor and
 * volume), the source's snapshot starts as any backup does (the backups quota, the source
 * BACKING_UP, the row NEW) and the replicas' rows are written BUILDING; then `backup.create`
 * for the snapshot and `instance.create` for each replica, which waits for the snapshot,
 * restores it read-only and attaches to the source.
 */
export async function startReplicas(
  db: PrismaClient,
  input: ReplicasInput,
): Promise<{ sourceId: string; backupId: string; replicaIds: string[] }> {
  const { projectId } = input;
  const source = await findMember(db, projectId, input.sourceInstanceId);
  const status = statusOf(source, input.heartbeatExpirySeconds);
  if (status !== 'ACTIVE')
    throw conflict(`Replicas can be made of an ACTIVE instance; ${source.name} is ${status}`);
  if (source.replicaOfId) {
    throw conflict(`${source.name} is a replica itself: make replicas of its source instead`);
  }
  const stem =
    input.name ?? `${source.name.slice(0, INSTANCE_NAME_MAX - '-replica'.length)}-replica`;
  if (input.configurationGroupId) {
    const group = await db.configurationGroup.findFirst({
      where: { id: input.configurationGroupId, projectId },
      select: { datastoreVersionId: true },
    });
    if (!group) {
      throw new AppError('NOT_FOUND', 'No such configuration group', {
        field: 'configurationGroupId',
      });
    }
    if (group.datastoreVersionId !== source.datastoreVersionId) {
      throw new AppError('BAD_REQUEST', "The configuration group is not for the source's version", {
        field: 'configurationGroupId',
      });
    }
  }

  const { backupId, replicaIds } = await db.$transaction(async (tx) => {
    await assertQuota(
      tx,
      projectId,
      { instances: input.count, volumeGb: input.count * source.volumeSizeGb },
      { defaults: input.quotaDefaults, fields: { instances: 'count' } },
    );
    const taken = new Set(
      (
        await tx.instance.findMany({
          where: { projectId, deletedAt: null, name: { startsWith: stem } },
          select: { name: true },
        })
      ).map((row) => row.name),
    );
    const names = replicaNames(stem, input.count, input.name !== undefined, taken);
    if (names.some((name) => taken.has(name))) {
      throw new AppError('CONFLICT', 'An instance with this name already exists in the project', {
        details: {
          fieldErrors: { name: ['An instance with this name already exists in the project'] },
        },
      });
    }
    const snapshotId = await insertBackup(
      tx,
      {
        projectId,
        instance: source,
        type: 'FULL',
        parentId: null,
        name: stampedName(`replica snapshot of ${source.name}`, new Date()),
      },
      input.quotaDefaults,
    );
    const ids: string[] = [];
    for (const name of names) {
      const replica = await tx.instance.create({
        data: {
          projectId,
          name,
          flavorId: source.flavorId,
          datastoreVersionId: source.datastoreVersionId,
          volumeSizeGb: source.volumeSizeGb,
          taskStatus: 'BUILDING',
          serviceStatus: 'NEW',
          replicaOfId: source.id,
          restoredFromBackupId: snapshotId,
          configurationGroupId: input.configurationGroupId ?? source.configurationGroupId,
        },
        select: { id: true },
      });
      ids.push(replica.id);
    }
    return { backupId: snapshotId, replicaIds: ids };
  }, PROJECT_LOCK_TRANSACTION);

  try {
    await queueBackupCreate(input.enqueue, backupId, source.id);
    for (const id of replicaIds)
      await input.enqueue('instance.create', id, {
        instanceId: id,
        restoreFromBackupId: backupId,
      });
  } catch (error) {
    // Take everything back: a job that was queued finds its rows gone and stops.
    await db.instance.deleteMany({ where: { id: { in: replicaIds }, taskStatus: 'BUILDING' } });
    await undoBackupStart(db, backupId, source.id);
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start making the replicas; try again in a moment',
      { cause: error },
    );
  }
  return { sourceId: source.id, backupId, replicaIds };
}

export interface ReplicaReseedInput {
  replicaId: string;
  /** The snapshot the replica could not be seeded from: it must still be the replica's. */
  fromBackupId: string;
  /** Why its stream failed, for its timeline. */
  reason: string;
  enqueue: EnqueueTaskmanagerJob;
}

/** The timeline's kind for a replica seeded again: its event names the new snapshot. */
export const REPLICA_RESEEDED = 'replica_reseeded';

/**
 * Seeds a replica again from a new snapshot of its source in the object store (issue 18:
 * its direct stream could not be made, came too late or broke; the worker removed its
 * server first). In one transaction, under the project's lock: the source NONE →
 * BACKING_UP with its new snapshot NEW, and the replica, still BUILDING from `fromBackupId`,
 * restored from the new one, and the replica's timeline saying so (`replica_reseeded`, its
 * `details.backupId` the new snapshot: what makes it a snapshot for the object store only,
 * {@link isReseedSnapshot}, however often its job is queued). Not counted in the backups
 * quota: it stands in for the snapshot the replica leaves (released once no replica builds
 * from it). Then `backup.create`. CONFLICT (`details.reason` BUSY) while the source is busy;
 * CONFLICT when the replica is no longer building from `fromBackupId`.
 */
export async function startReplicaReseed(
  db: PrismaClient,
  input: ReplicaReseedInput,
): Promise<{ sourceId: string; backupId: string }> {
  const eventId = randomUUID();
  const { sourceId, backupId } = await db.$transaction(async (tx) => {
    const replica = await tx.instance.findUnique({
      where: { id: input.replicaId },
      select: { projectId: true, replicaOfId: true },
    });
    if (!replica?.replicaOfId) throw conflict('The replica or its source is gone');
    await lockProject(tx, replica.projectId);
    const source = await findMember(tx, replica.projectId, replica.replicaOfId);
    const snapshotId = await insertBackupRow(tx, {
      projectId: replica.projectId,
      instance: source,
      type: 'FULL',
      parentId: null,
      name: stampedName(`replica snapshot of ${source.name}`, new Date()),
    });
    const { count } = await tx.instance.updateMany({
      where: {
        id: input.replicaId,
        taskStatus: 'BUILDING',
        deletedAt: null,
        restoredFromBackupId: input.fromBackupId,
      },
      data: { restoredFromBackupId: snapshotId },
    });
    if (count === 0) throw conflict('The replica is no longer being built from its snapshot');
    await tx.instanceEvent.create({
      data: {
        id: eventId,
        instanceId: input.replicaId,
        projectId: replica.projectId,
        kind: REPLICA_RESEEDED,
        message: `The direct stream from the source failed (${input.reason.slice(0, 600)}): the replica is seeded from a snapshot in the object store instead.`,
        actor: 'taskmanager',
        details: { fromBackupId: input.fromBackupId, backupId: snapshotId },
      },
    });
    return { sourceId: source.id, backupId: snapshotId };
  }, PROJECT_LOCK_TRANSACTION);
  try {
    await queueBackupCreate(input.enqueue, backupId, sourceId);
  } catch (error) {
    await db.$transaction([
      db.instanceEvent.deleteMany({ where: { id: eventId } }),
      db.instance.updateMany({
        where: { id: input.replicaId, restoredFromBackupId: backupId },
        data: { restoredFromBackupId: input.fromBackupId },
      }),
    ]);
    await undoBackupStart(db, backupId, sourceId);
    throw new AppError('UNAVAILABLE', 'Coffer could not start the snapshot', { cause: error });
  }
  return { sourceId, backupId };
}

/**
 * Whether the snapshot is a replica's made again after its direct stream failed
 * (`startReplicaReseed`): it goes to the object store only. Read from the rows (the replicas
 * building from it, and their `replica_reseeded` events naming it), so a job queued again
 * (the watchdog's, after a crash) knows it as well as the first.
 */
export async function isReseedSnapshot(
  db: Pick<PrismaClient, 'instance' | 'instanceEvent'>,
  backupId: string,
): Promise<boolean> {
  const replicas = await db.instance.findMany({
    where: { restoredFromBackupId: backupId, replicaOfId: { not: null } },
    select: { id: true },
  });
  if (replicas.length === 0) return false;
  const events = await db.instanceEvent.count({
    where: {
      instanceId: { in: replicas.map((r) => r.id) },
      kind: REPLICA_RESEEDED,
      details: { path: ['backupId'], equals: backupId },
    },
  });
  return events > 0;
}

function requireReplicating(member: Member, what: string): void {
  if (member.replicationState === 'BROKEN') {
    throw conflict(
      `${member.name} is not replicating (${member.replicationError ?? 'broken'}), so ${what}`,
    );
  }
}

/**
 * Promotes a replica to source while its source is alive (Trove's promote_to_replica_source):
 * the replica, its source and every sibling must be ACTIVE and replicating; all of them
 * become PROMOTING. Returns them: the replica, its source, its siblings.
 */
export async function startPromote(db: PrismaClient, input: ReplicaOperationInput) {
  const { projectId, heartbeatExpirySeconds } = input;
  const replica = await findMember(db, projectId, input.instanceId);
  if (!replica.replicaOfId)
    throw conflict(`${replica.name} is not a replica: there is nothing to promote it over`);
  const replicaStatus = statusOf(replica, heartbeatExpirySeconds);
  if (replicaStatus !== 'ACTIVE')
    throw conflict(`${replica.name} can be promoted while it is ACTIVE; it is ${replicaStatus}`);
  requireReplicating(replica, 'it cannot catch up with its source: detach it instead');
  const source = await findMember(db, projectId, replica.replicaOfId);
  const sourceStatus = statusOf(source, heartbeatExpirySeconds);
  if (sourceStatus !== 'ACTIVE') {
    throw conflict(
      `Its source ${source.name} is ${sourceStatus}: a replica is promoted while its source is alive; eject the source instead`,
    );
  }
  const siblings = (await replicasOf(db, projectId, source.id)).filter(
    (member) => member.id !== replica.id,
  );
  for (const sibling of siblings) {
    const siblingStatus = statusOf(sibling, heartbeatExpirySeconds);
    if (siblingStatus !== 'ACTIVE')
      throw conflict(
        `The replica ${sibling.name} is ${siblingStatus}: wait for it, or detach or delete it first`,
      );
    requireReplicating(sibling, 'it could not follow the new source: detach or delete it first');
  }
  const ids = [replica.id, source.id, ...siblings.map((sibling) => sibling.id)];
  return claimAndQueue(db, input, 'replica.promote', replica.id, ids, 'PROMOTING');
}

/**
 * Ejects a source that is gone (Trove's eject_replica_source): its guest no longer reports
 * (SHUTDOWN or ERROR), and it has replicas; it and its replicas become EJECTING, and the most
 * advanced replica takes over. Returns them: the source, then its replicas.
 */
export async function startEject(db: PrismaClient, input: ReplicaOperationInput) {
  const { projectId, heartbeatExpirySeconds } = input;
  const source = await findMember(db, projectId, input.instanceId);
  if (source.replicaOfId)
    throw conflict(`${source.name} is a replica, not a source: detach or promote it instead`);
  const replicas = await replicasOf(db, projectId, source.id);
  if (replicas.length === 0) throw conflict(`${source.name} has no replicas to take over`);
  const status = statusOf(source, heartbeatExpirySeconds);
  if (status !== 'SHUTDOWN' && status !== 'ERROR') {
    throw conflict(
      `${source.name} is ${status}: a source is ejected when it is gone; promote one of its replicas instead`,
    );
  }
  if (!replicas.some((replica) => statusOf(replica, heartbeatExpirySeconds) === 'ACTIVE'))
    throw conflict(`None of the replicas of ${source.name} is ACTIVE to take over`);
  const ids = [source.id, ...replicas.map((replica) => replica.id)];
  return claimAndQueue(db, input, 'replica.eject', source.id, ids, 'EJECTING');
}

/** Detaches a replica (Trove's detach_replica): it stops replicating and becomes a standalone, writable instance. */
export async function startDetach(db: PrismaClient, input: ReplicaOperationInput) {
  const replica = await findMember(db, input.projectId, input.instanceId);
  if (!replica.replicaOfId) throw conflict(`${replica.name} is not a replica`);
  const status = statusOf(replica, input.heartbeatExpirySeconds);
  if (status !== 'ACTIVE')
    throw conflict(`${replica.name} can be detached while it is ACTIVE; it is ${status}`);
  return claimAndQueue(db, input, 'replica.detach', replica.id, [replica.id], 'DETACHING');
}
