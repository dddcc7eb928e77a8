import { randomBytes } from 'node:crypto';

import {
  deriveReplicationState,
  describeReplicationError,
  isHeartbeatFresh,
  replicationPasswordAad,
  replicationUserName,
  type GuestMethod,
  type GuestParams,
  type GuestResult,
  type ReplicationStart,
  type ReplicationStatus,
  type TaskStatus,
} from '@coffer/contracts';
import { SealError } from '@coffer/contracts/crypto';
import { type Prisma } from '@coffer/db';
import { markBackupsDeleting } from '@coffer/db/domain/backups';
import { clearedFault, faultFields } from '@coffer/db/domain/faults';
import { GuestClient, GuestRpcError, GuestTimeoutError } from '@coffer/guest-client';

import { raceAbort } from '../events';
import { openGuestSecret } from '../guest-secret';
import { deleteBackupOperation } from '../taskmanager/delete-backup';
import {
  OperationFailure,
  skipped,
  type Fault,
  type OperationContext,
  type OperationResult,
} from '../taskmanager/operation';

/**
 * The control plane's side of replication: the members of a replication set as rows, their
 * guests, and the steps promote, eject, detach and a replica's build share. Replication
 * passwords are generated here for one attach, leave only sealed for the two guests that need
 * them (the source stores the hash, the replica keeps it in master.info) and are never stored
 * by the control plane: a retried step makes a new one.
 */

export const memberSelect = {
  id: true,
  projectId: true,
  name: true,
  host: true,
  port: true,
  guestSecretEnc: true,
  taskStatus: true,
  serviceStatus: true,
  lastHeartbeatAt: true,
  replicaOfId: true,
  deletedAt: true,
} as const satisfies Prisma.InstanceSelect;

export type Member = Prisma.InstanceGetPayload<{ select: typeof memberSelect }>;

export type StepContext = Omit<OperationContext, 'signal'> & { signal?: AbortSignal };

export async function loadMember(ctx: StepContext, instanceId: string): Promise<Member | null> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: memberSelect,
  });
  return row && !row.deletedAt ? row : null;
}

/**
 * The member a replication job (promote, eject, detach) is about, while it is still in the
 * job's task; otherwise the job has nothing to do, and says why.
 */
export async function loadMemberInTask(
  ctx: StepContext,
  instanceId: string,
  task: TaskStatus,
): Promise<Member | OperationResult> {
  const member = await loadMember(ctx, instanceId);
  if (!member) return skipped('the instance no longer exists');
  if (member.taskStatus !== task) return skipped(`the instance is ${member.taskStatus}`);
  return member;
}

/** The live replicas of a source (optionally only those in a given task). */
export async function replicasOf(
  ctx: StepContext,
  sourceId: string,
  taskStatus?: TaskStatus,
): Promise<Member[]> {
  return ctx.prisma.instance.findMany({
    where: { replicaOfId: sourceId, deletedAt: null, ...(taskStatus ? { taskStatus } : {}) },
    select: memberSelect,
    orderBy: { createdAt: 'asc' },
  });
}

/** The guest of an instance; OperationFailure when it has none (never built). */
export function guestOf(ctx: StepContext, member: Member): GuestClient {
  if (!member.guestSecretEnc)
    throw new OperationFailure(`${member.name} has no guest: it was never built.`);
  let guestSecret: string;
  try {
    guestSecret = openGuestSecret(ctx.settings.masterKey, member.id, member.guestSecretEnc);
  } catch (error) {
    if (error instanceof SealError) {
      throw new OperationFailure(
        `The guest secret of ${member.name} cannot be opened with this control plane's master key.`,
      );
    }
    throw error;
  }
  return new GuestClient({ connection: ctx.redis, instanceId: member.id, guestSecret });
}

/** A guest did not answer in time: a transient failure (the job is tried again). */
export class GuestUnavailableError extends Error {
  constructor(
    readonly member: Member,
    readonly method: GuestMethod,
  ) {
    super(`${member.name} did not answer ${method} in time`);
    this.name = 'GuestUnavailableError';
  }
}

/**
 * One call to a member's guest. Its refusal becomes an OperationFailure in the guest's words
 * (prefixed with the instance's name); no answer in time is a GuestUnavailableError.
 */
export async function callMember<M extends GuestMethod>(
  ctx: StepContext,
  member: Member,
  method: M,
  params: (guest: GuestClient) => GuestParams<M>,
  timeoutMs = ctx.settings.tuning.replicationCallTimeoutMs,
): Promise<GuestResult<M>> {
  const guest = guestOf(ctx, member);
  try {
    const call = guest.call(method, params(guest), { timeoutMs });
    return await (ctx.signal ? raceAbort(call, ctx.signal) : call);
  } catch (error) {
    if (error instanceof GuestRpcError) {
      throw new OperationFailure(`${member.name}: ${error.guestMessage}`, undefined, {
        cause: error,
      });
    }
    if (error instanceof GuestTimeoutError) throw new GuestUnavailableError(member, method);
    throw error;
  } finally {
    await guest.close();
  }
}

/** The same call, or null when the guest does not answer (for members that may be gone). */
export async function tryCallMember<M extends GuestMethod>(
  ctx: StepContext,
  member: Member,
  method: M,
  params: (guest: GuestClient) => GuestParams<M>,
  timeoutMs?: number,
): Promise<GuestResult<M> | null> {
  try {
    return await callMember(ctx, member, method, params, timeoutMs);
  } catch (error) {
    if (error instanceof GuestUnavailableError) return null;
    throw error;
  }
}

/** 256 random bits, hex: a replication account's password, for one attach. */
export function generateReplicationPassword(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Makes `replica` replicate from `source`: a fresh password for the replica's account on the
 * source (created or set again there), then the replica attached with it. Fails for good,
 * with the server's error, when the replica cannot replicate; a replica still connecting
 * after the guest's wait is a transient failure.
 */
export async function attachToSource(
  ctx: StepContext,
  replica: Member,
  source: Member,
  start: ReplicationStart,
): Promise<ReplicationStatus> {
  if (!source.host || !source.port)
    throw new OperationFailure(`${source.name} has no address to replicate from.`);
  const user = replicationUserName(replica.id);
  const password = generateReplicationPassword();
  await callMember(ctx, source, 'create_replication_user', (guest) => ({
    name: user,
    password: guest.sealSecret(password, replicationPasswordAad(user)),
  }));
  const status = await callMember(ctx, replica, 'attach_replica', (guest) => ({
    source: { host: source.host!, port: source.port! },
    user,
    password: guest.sealSecret(password, replicationPasswordAad(user)),
    start,
  }));
  const state = deriveReplicationState(status.replica);
  if (state === 'BROKEN' || state === 'STOPPED' || state === null) {
    throw new OperationFailure(
      `${replica.name} cannot replicate from ${source.name}: ${describeReplicationError(status.replica) ?? 'its replication threads do not run'}.`,
    );
  }
  if (state === 'CONNECTING')
    throw new Error(`${replica.name} is still connecting to ${source.name}`);
  ctx.logger.info(
    { replicaId: replica.id, sourceId: source.id, start: start.kind },
    'replica attached',
  );
  return status;
}

/** A replica's account goes from its source, when it has one that is still there (a detach, a delete). */
export async function dropAccountOnSource(
  ctx: StepContext,
  sourceId: string | null,
  replicaId: string,
): Promise<void> {
  const source = sourceId ? await loadMember(ctx, sourceId) : null;
  if (source) await dropReplicationAccount(ctx, source, replicaId);
}

/** Removes a replica's account from a source that may be gone (best effort). */
export async function dropReplicationAccount(
  ctx: StepContext,
  source: Member,
  replicaId: string,
): Promise<void> {
  if (!isHeartbeatFresh(source.lastHeartbeatAt, new Date(), ctx.settings.heartbeatExpirySeconds)) {
    ctx.logger.info(
      { sourceId: source.id, replicaId },
      'the source is silent: its replication account stays',
    );
    return;
  }
  try {
    const answered = await tryCallMember(
      ctx,
      source,
      'drop_replication_user',
      () => ({ name: replicationUserName(replicaId) }),
      20_000,
    );
    if (!answered)
      ctx.logger.warn(
        { sourceId: source.id, replicaId },
        'the replication account could not be dropped: the source did not answer',
      );
  } catch (error) {
    ctx.logger.warn(
      { err: error, sourceId: source.id, replicaId },
      'the replication account could not be dropped',
    );
  }
}

/** Ends a task on the members still in it, optionally with a fault (or clearing it), and tells the consoles. */
export async function endTask(
  ctx: StepContext,
  ids: string[],
  fromTask: TaskStatus,
  fault: { message: string; details?: string } | null | undefined,
): Promise<void> {
  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: { id: { in: ids }, taskStatus: fromTask, deletedAt: null },
    data: {
      taskStatus: 'NONE',
      ...(fault === undefined ? {} : fault === null ? clearedFault() : faultFields(fault)),
    },
    select: { id: true, projectId: true },
  });
  for (const row of rows)
    await ctx.publisher.publish({
      type: 'instance.changed',
      projectId: row.projectId,
      instanceId: row.id,
    });
}

/**
 * A replication job that failed for good: the task ends on `faultedId` with `message` (and
 * the fault's details), and on the other members with their faults as they are.
 */
export async function endTaskAfterFailure(
  ctx: StepContext,
  fromTask: TaskStatus,
  faultedId: string,
  otherIds: string[],
  message: string,
  fault: Fault,
): Promise<void> {
  await endTask(ctx, [faultedId], fromTask, {
    message: message.slice(0, 2000),
    details: fault.details,
  });
  if (otherIds.length > 0) await endTask(ctx, otherIds, fromTask, undefined);
}

/** Nothing about replication is reported for a server that replicates from no one any more (until its next heartbeat says so itself). */
export const NOT_REPLICATING = {
  replicationState: null,
  replicationLagSeconds: null,
  replicationError: null,
} as const;

/**
 * The snapshot replicas were built from goes once none of them is building any more (Trove
 * deletes its replica snapshot too): its objects, then its row. Called by a replica's build
 * when it ends (either way) and by a replica's delete, so the last one removes it.
 */
export async function releaseReplicaSnapshot(ctx: StepContext, backupId: string): Promise<void> {
  const building = await ctx.prisma.instance.count({
    where: {
      restoredFromBackupId: backupId,
      replicaOfId: { not: null },
      taskStatus: 'BUILDING',
      deletedAt: null,
    },
  });
  if (building > 0) return;
  // As any delete marks backups (under the project's lock, not while anything builds on it).
  const result = await ctx.prisma.$transaction((tx) => markBackupsDeleting(tx, [backupId]));
  if ('refused' in result || result.marked.length === 0) return;
  ctx.logger.info({ backupId }, 'the replicas are built: removing their snapshot');
  // Inline (the watchdog gives a DELETING backup a delete job should this fail).
  await deleteBackupOperation.run(
    { ...ctx, signal: ctx.signal ?? AbortSignal.timeout(10 * 60_000) },
    { backupIds: [backupId] },
  );
}
