import 'server-only';

import { randomUUID } from 'node:crypto';

import {
  AppError,
  backupLocation,
  deriveDisplayStatus,
  INSTANCE_NAME_MAX,
  type DisplayStatus,
  type TaskmanagerJobName,
  type TaskStatus,
} from '@coffer/contracts';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { env } from '~/env';
import { type createReplicasInputSchema } from '~/lib/replica-schemas';
import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { assertQuota } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from '../instance/instance-actions';
import { instanceSelect, toInstanceView, type InstanceView } from '../instance/instance-view';

/**
 * Replication (Trove's replication API): create replicas of an instance, promote a replica
 * to source, eject a source that is gone, detach a replica. Each checks the instances in the
 * project (another project's is "not found"), moves every instance involved to its task in
 * one transaction (so two clicks are one operation, and nothing else starts meanwhile), and
 * hands the work to the taskmanager.
 */

interface ReplicaContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** Creates of one project queue for its lock: give them time to get a connection and their turn. */
const QUOTA_TRANSACTION = { maxWait: 15_000, timeout: 20_000 } as const;

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
} as const;

interface Member {
  id: string;
  name: string;
  taskStatus: TaskStatus;
  serviceStatus: Parameters<typeof deriveDisplayStatus>[0]['serviceStatus'];
  lastHeartbeatAt: Date | null;
  replicaOfId: string | null;
  replicationState: string | null;
  replicationError: string | null;
  volumeSizeGb: number;
  flavorId: string;
  datastoreVersionId: string;
}

function statusOf(member: Member): DisplayStatus {
  return deriveDisplayStatus({
    taskStatus: member.taskStatus,
    serviceStatus: member.serviceStatus,
    lastHeartbeatAt: member.lastHeartbeatAt,
    now: new Date(),
    heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
  });
}

async function findMember(db: ProjectScopedDb, instanceId: string): Promise<Member> {
  const member = await db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: memberSelect,
  });
  if (!member) throw new AppError('NOT_FOUND', 'Instance not found');
  return member;
}

async function replicasOf(db: ProjectScopedDb, sourceId: string): Promise<Member[]> {
  return db.instance.findMany({
    where: { replicaOfId: sourceId, deletedAt: null },
    select: memberSelect,
    orderBy: { createdAt: 'asc' },
  });
}

function conflict(message: string): AppError {
  return new AppError('CONFLICT', message);
}

/**
 * Moves every member from NONE to `task` in one transaction; if any of them is busy (or was
 * changed meanwhile), none moves and the caller gets a CONFLICT.
 */
async function claimTask(ctx: ReplicaContext, ids: string[], task: TaskStatus): Promise<void> {
  await ctx.db.$transaction(async (tx) => {
    const { count } = await tx.instance.updateMany({
      where: { id: { in: ids }, taskStatus: 'NONE', deletedAt: null },
      data: { taskStatus: task },
    });
    if (count !== ids.length)
      throw conflict(
        'An instance of this replication set is busy with another operation; try again when it is done',
      );
  });
}

/** Queues the job; if that fails nothing has happened yet, so the tasks go back to NONE. */
async function startJob(
  ctx: ReplicaContext,
  name: TaskmanagerJobName & `replica.${string}`,
  instanceId: string,
  ids: string[],
  task: TaskStatus,
) {
  try {
    await enqueueTaskmanagerJob(name, instanceId, { instanceId });
  } catch (error) {
    await ctx.db.instance.updateMany({
      where: { id: { in: ids }, taskStatus: task },
      data: { taskStatus: 'NONE' },
    });
    ctx.log.error({ err: error }, `could not queue ${name}`);
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start the operation; try again in a moment',
      { cause: error },
    );
  }
  ctx.log.info({ instanceId, members: ids.length }, `${name} accepted`);
  for (const id of ids)
    await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId: id });
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

/**
 * Creates replicas of an instance (Trove's create with replica_of and replica_count): in one
 * transaction the quota is checked (each replica is an instance with the source's flavor and
 * volume), the source becomes BACKING_UP, its snapshot backup is written NEW and the replicas'
 * rows BUILDING; then `backup.create` for the snapshot and `instance.create` for each replica,
 * which waits for the snapshot, restores it read-only and attaches to the source.
 */
export async function createReplicas(
  ctx: ReplicaContext,
  input: z.output<typeof createReplicasInputSchema>,
): Promise<InstanceView[]> {
  const source = await findMember(ctx.db, input.sourceInstanceId);
  const status = statusOf(source);
  if (status !== 'ACTIVE')
    throw conflict(`Replicas can be made of an ACTIVE instance; ${source.name} is ${status}`);
  if (source.replicaOfId) {
    throw conflict(`${source.name} is a replica itself: make replicas of its source instead`);
  }
  const stem =
    input.name ?? `${source.name.slice(0, INSTANCE_NAME_MAX - '-replica'.length)}-replica`;
  const backupId = randomUUID();
  const now = new Date();

  const rows = await ctx.db.$transaction(async (tx) => {
    await assertQuota(
      tx,
      ctx.projectId,
      { instances: input.count, volumeGb: input.count * source.volumeSizeGb },
      { fields: { instances: 'count' } },
    );
    const taken = new Set(
      (
        await tx.instance.findMany({
          where: { deletedAt: null, name: { startsWith: stem } },
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
    const { count } = await tx.instance.updateMany({
      where: { id: source.id, taskStatus: 'NONE', deletedAt: null },
      data: { taskStatus: 'BACKING_UP' },
    });
    if (count === 0)
      throw conflict(`${source.name} is busy with another operation; try again when it is ACTIVE`);
    await tx.backup.create({
      data: {
        id: backupId,
        projectId: ctx.projectId,
        instanceId: source.id,
        instanceName: source.name,
        name: `replica snapshot of ${source.name} ${now.toISOString().slice(0, 16).replace('T', ' ')}`,
        type: 'FULL',
        datastoreVersionId: source.datastoreVersionId,
        storeKind: 'pending',
        location: backupLocation(ctx.projectId, backupId),
      },
    });
    const created = [];
    for (const name of names) {
      created.push(
        await tx.instance.create({
          data: {
            projectId: ctx.projectId,
            name,
            flavorId: source.flavorId,
            datastoreVersionId: source.datastoreVersionId,
            volumeSizeGb: source.volumeSizeGb,
            taskStatus: 'BUILDING',
            serviceStatus: 'NEW',
            replicaOfId: source.id,
            restoredFromBackupId: backupId,
          },
          select: instanceSelect,
        }),
      );
    }
    return created;
  }, QUOTA_TRANSACTION);

  try {
    await enqueueTaskmanagerJob('backup.create', backupId, { backupId, instanceId: source.id });
    for (const row of rows)
      await enqueueTaskmanagerJob('instance.create', row.id, {
        instanceId: row.id,
        restoreFromBackupId: backupId,
      });
  } catch (error) {
    // Take everything back: a job that was queued finds its rows gone and stops.
    await ctx.db.instance.deleteMany({
      where: { id: { in: rows.map((row) => row.id) }, taskStatus: 'BUILDING' },
    });
    await ctx.db.backup.deleteMany({ where: { id: backupId, status: 'NEW' } });
    await ctx.db.instance.updateMany({
      where: { id: source.id, taskStatus: 'BACKING_UP' },
      data: { taskStatus: 'NONE' },
    });
    ctx.log.error({ err: error }, 'could not queue the replicas');
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start making the replicas; try again in a moment',
      { cause: error },
    );
  }
  ctx.log.info(
    { sourceId: source.id, backupId, replicas: rows.map((row) => row.id) },
    'replicas accepted',
  );
  await publishChange({
    type: 'instance.changed',
    projectId: ctx.projectId,
    instanceId: source.id,
  });
  await publishChange({
    type: 'backup.changed',
    projectId: ctx.projectId,
    instanceId: source.id,
    backupId,
  });
  for (const row of rows)
    await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId: row.id });
  return rows.map((row) => toInstanceView(row));
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
 * become PROMOTING.
 */
export async function promoteReplica(
  ctx: ReplicaContext,
  instanceId: string,
): Promise<InstanceView> {
  const replica = await findMember(ctx.db, instanceId);
  if (!replica.replicaOfId)
    throw conflict(`${replica.name} is not a replica: there is nothing to promote it over`);
  const replicaStatus = statusOf(replica);
  if (replicaStatus !== 'ACTIVE')
    throw conflict(`${replica.name} can be promoted while it is ACTIVE; it is ${replicaStatus}`);
  requireReplicating(replica, 'it cannot catch up with its source: detach it instead');
  const source = await findMember(ctx.db, replica.replicaOfId);
  const sourceStatus = statusOf(source);
  if (sourceStatus !== 'ACTIVE') {
    throw conflict(
      `Its source ${source.name} is ${sourceStatus}: a replica is promoted while its source is alive; eject the source instead`,
    );
  }
  const siblings = (await replicasOf(ctx.db, source.id)).filter(
    (member) => member.id !== replica.id,
  );
  for (const sibling of siblings) {
    const siblingStatus = statusOf(sibling);
    if (siblingStatus !== 'ACTIVE')
      throw conflict(
        `The replica ${sibling.name} is ${siblingStatus}: wait for it, or detach or delete it first`,
      );
    requireReplicating(sibling, 'it could not follow the new source: detach or delete it first');
  }
  const ids = [replica.id, source.id, ...siblings.map((sibling) => sibling.id)];
  await claimTask(ctx, ids, 'PROMOTING');
  await startJob(ctx, 'replica.promote', replica.id, ids, 'PROMOTING');
  return getInstance(ctx, replica.id);
}

/**
 * Ejects a source that is gone (Trove's eject_replica_source): its guest no longer reports
 * (SHUTDOWN or ERROR), and it has replicas; it and its replicas become EJECTING, and the most
 * advanced replica takes over.
 */
export async function ejectSource(ctx: ReplicaContext, instanceId: string): Promise<InstanceView> {
  const source = await findMember(ctx.db, instanceId);
  if (source.replicaOfId)
    throw conflict(`${source.name} is a replica, not a source: detach or promote it instead`);
  const replicas = await replicasOf(ctx.db, source.id);
  if (replicas.length === 0) throw conflict(`${source.name} has no replicas to take over`);
  const status = statusOf(source);
  if (status !== 'SHUTDOWN' && status !== 'ERROR') {
    throw conflict(
      `${source.name} is ${status}: a source is ejected when it is gone; promote one of its replicas instead`,
    );
  }
  if (!replicas.some((replica) => statusOf(replica) === 'ACTIVE'))
    throw conflict(`None of the replicas of ${source.name} is ACTIVE to take over`);
  const ids = [source.id, ...replicas.map((replica) => replica.id)];
  await claimTask(ctx, ids, 'EJECTING');
  await startJob(ctx, 'replica.eject', source.id, ids, 'EJECTING');
  return getInstance(ctx, source.id);
}

/** Detaches a replica (Trove's detach_replica): it stops replicating and becomes a standalone, writable instance. */
export async function detachReplica(
  ctx: ReplicaContext,
  instanceId: string,
): Promise<InstanceView> {
  const replica = await findMember(ctx.db, instanceId);
  if (!replica.replicaOfId) throw conflict(`${replica.name} is not a replica`);
  const status = statusOf(replica);
  if (status !== 'ACTIVE')
    throw conflict(`${replica.name} can be detached while it is ACTIVE; it is ${status}`);
  await claimTask(ctx, [replica.id], 'DETACHING');
  await startJob(ctx, 'replica.detach', replica.id, [replica.id], 'DETACHING');
  return getInstance(ctx, replica.id);
}
