import 'server-only';

import { AppError, type TaskmanagerJobName } from '@coffer/contracts';
import {
  startDetach,
  startEject,
  startPromote,
  startReplicas,
  type ReplicaOperationInput,
} from '@coffer/db/domain/replicas';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { type createReplicasInputSchema } from '~/lib/replica-schemas';
import { publishChange } from '~/server/events';
import { domainDb, enqueueJob, heartbeatExpirySeconds } from '~/server/services/domain-db';
import { defaultQuotas } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from '../instance/instance-actions';
import { instanceSelect, toInstanceView, type InstanceView } from '../instance/instance-view';

/**
 * Replication (Trove's replication API): create replicas of an instance, promote a replica
 * to source, eject a source that is gone, detach a replica. What each checks and starts is
 * the domain's (`@coffer/db/domain/replicas`, which the worker tests call too); here the
 * request's project, the log and the consoles.
 */

interface ReplicaContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** Runs a domain start; a job that could not be queued is logged (the caller gets UNAVAILABLE). */
async function logged<T>(ctx: ReplicaContext, what: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof AppError && error.code === 'UNAVAILABLE')
      ctx.log.error({ err: error.cause }, `could not queue ${what}`);
    throw error;
  }
}

async function publishInstances(ctx: ReplicaContext, ids: string[]): Promise<void> {
  for (const id of ids)
    await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId: id });
}

/**
 * Creates replicas of an instance (Trove's create with replica_of and replica_count): the
 * snapshot backup of the source and the replicas' rows, then their jobs (see startReplicas).
 */
export async function createReplicas(
  ctx: ReplicaContext,
  input: z.output<typeof createReplicasInputSchema>,
): Promise<InstanceView[]> {
  const { sourceId, backupId, replicaIds } = await logged(ctx, 'the replicas', () =>
    startReplicas(domainDb(ctx.db), {
      projectId: ctx.projectId,
      sourceInstanceId: input.sourceInstanceId,
      count: input.count,
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.configurationGroupId ? { configurationGroupId: input.configurationGroupId } : {}),
      heartbeatExpirySeconds: heartbeatExpirySeconds(),
      quotaDefaults: defaultQuotas(),
      enqueue: enqueueJob,
    }),
  );
  ctx.log.info({ sourceId, backupId, replicas: replicaIds }, 'replicas accepted');
  await publishInstances(ctx, [sourceId]);
  await publishChange({
    type: 'backup.changed',
    projectId: ctx.projectId,
    instanceId: sourceId,
    backupId,
  });
  await publishInstances(ctx, replicaIds);
  const rows = await ctx.db.instance.findMany({
    where: { id: { in: replicaIds } },
    select: instanceSelect,
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return replicaIds.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toInstanceView(row)] : [];
  });
}

type ReplicaStart = (
  db: ReturnType<typeof domainDb>,
  input: ReplicaOperationInput,
) => Promise<string[]>;

/** Starts promote, eject or detach on `instanceId`, tells the consoles, and returns the instance. */
async function startOperation(
  ctx: ReplicaContext,
  name: TaskmanagerJobName & `replica.${string}`,
  start: ReplicaStart,
  instanceId: string,
): Promise<InstanceView> {
  const ids = await logged(ctx, name, () =>
    start(domainDb(ctx.db), {
      projectId: ctx.projectId,
      instanceId,
      heartbeatExpirySeconds: heartbeatExpirySeconds(),
      enqueue: enqueueJob,
    }),
  );
  ctx.log.info({ instanceId, members: ids.length }, `${name} accepted`);
  await publishInstances(ctx, ids);
  return getInstance(ctx, instanceId);
}

/**
 * Promotes a replica to source while its source is alive (Trove's promote_to_replica_source):
 * the replica, its source and every sibling become PROMOTING.
 */
export function promoteReplica(ctx: ReplicaContext, instanceId: string): Promise<InstanceView> {
  return startOperation(ctx, 'replica.promote', startPromote, instanceId);
}

/** Ejects a source that is gone (Trove's eject_replica_source): it and its replicas become EJECTING. */
export function ejectSource(ctx: ReplicaContext, instanceId: string): Promise<InstanceView> {
  return startOperation(ctx, 'replica.eject', startEject, instanceId);
}

/** Detaches a replica (Trove's detach_replica): it stops replicating and becomes a standalone, writable instance. */
export function detachReplica(ctx: ReplicaContext, instanceId: string): Promise<InstanceView> {
  return startOperation(ctx, 'replica.detach', startDetach, instanceId);
}
