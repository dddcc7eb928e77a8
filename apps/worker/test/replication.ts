import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { backupLocation, type TaskStatus } from '@coffer/contracts';
import { type Instance } from '@coffer/db';
import mysql, { type Connection } from 'mysql2/promise';

import { waitFor, type CreatedInstance, type WorkerTestContext } from './harness';

/**
 * What the web app does for replication (rows, tasks, jobs), for the worker's replication
 * tests, and ways to look at the servers: as the tenant over TCP, or as root over the socket
 * (behind the control plane's back, as a test must).
 */

/**
 * Replicas as the web app creates them: in one transaction the source BACKING_UP, its
 * snapshot backup NEW and the replicas' rows BUILDING (replicaOfId, restored from the
 * snapshot); then `backup.create` for the snapshot and `instance.create` for each replica.
 */
export async function startReplicas(
  ctx: WorkerTestContext,
  sourceId: string,
  count: number,
): Promise<{ backupId: string; replicaIds: string[] }> {
  const backupId = randomUUID();
  const replicaIds = Array.from({ length: count }, () => randomUUID());
  await ctx.prisma.$transaction(async (tx) => {
    const source = await tx.instance.findUniqueOrThrow({ where: { id: sourceId } });
    const { count: updated } = await tx.instance.updateMany({
      where: { id: sourceId, taskStatus: 'NONE' },
      data: { taskStatus: 'BACKING_UP' },
    });
    if (updated !== 1) throw new Error(`source ${sourceId} is busy (${source.taskStatus})`);
    await tx.backup.create({
      data: {
        id: backupId,
        projectId: source.projectId,
        instanceId: sourceId,
        instanceName: source.name,
        name: `replica snapshot of ${source.name}`,
        type: 'FULL',
        datastoreVersionId: source.datastoreVersionId,
        storeKind: 'pending',
        location: backupLocation(source.projectId, backupId),
      },
    });
    for (const [index, id] of replicaIds.entries()) {
      await tx.instance.create({
        data: {
          id,
          projectId: source.projectId,
          name: `${source.name}-replica-${index + 1}-${id.slice(0, 4)}`,
          flavorId: source.flavorId,
          datastoreVersionId: source.datastoreVersionId,
          volumeSizeGb: source.volumeSizeGb,
          taskStatus: 'BUILDING',
          serviceStatus: 'NEW',
          replicaOfId: sourceId,
          restoredFromBackupId: backupId,
        },
      });
    }
  });
  await ctx.enqueue('backup.create', backupId, { backupId, instanceId: sourceId });
  for (const id of replicaIds) {
    await ctx.enqueue('instance.create', id, { instanceId: id, restoreFromBackupId: backupId });
  }
  return { backupId, replicaIds };
}

/** Sets `task` on exactly these instances (all NONE) in one transaction, as the web app does. */
async function setTask(ctx: WorkerTestContext, ids: string[], task: TaskStatus): Promise<void> {
  await ctx.prisma.$transaction(async (tx) => {
    const { count } = await tx.instance.updateMany({
      where: { id: { in: ids }, taskStatus: 'NONE' },
      data: { taskStatus: task },
    });
    if (count !== ids.length) throw new Error(`not every instance could become ${task}`);
  });
}

/** Promote: PROMOTING on the replica, its source and its siblings, then `replica.promote`. */
export async function startPromote(ctx: WorkerTestContext, replicaId: string): Promise<string[]> {
  const replica = await ctx.prisma.instance.findUniqueOrThrow({ where: { id: replicaId } });
  const siblings = await ctx.prisma.instance.findMany({
    where: { replicaOfId: replica.replicaOfId!, id: { not: replicaId } },
  });
  const members = [replicaId, replica.replicaOfId!, ...siblings.map((sibling) => sibling.id)];
  await setTask(ctx, members, 'PROMOTING');
  await ctx.enqueue('replica.promote', replicaId, { instanceId: replicaId });
  return members;
}

/** Eject: EJECTING on the (gone) source and its replicas, then `replica.eject`. */
export async function startEject(ctx: WorkerTestContext, sourceId: string): Promise<string[]> {
  const replicas = await ctx.prisma.instance.findMany({ where: { replicaOfId: sourceId } });
  const members = [sourceId, ...replicas.map((replica) => replica.id)];
  await setTask(ctx, members, 'EJECTING');
  await ctx.enqueue('replica.eject', sourceId, { instanceId: sourceId });
  return members;
}

export async function startDetach(ctx: WorkerTestContext, replicaId: string): Promise<void> {
  await setTask(ctx, [replicaId], 'DETACHING');
  await ctx.enqueue('replica.detach', replicaId, { instanceId: replicaId });
}

/** Until every instance has no task any more; returns their rows. */
export async function waitForTasksToEnd(
  ctx: WorkerTestContext,
  ids: string[],
  timeoutMs = 180_000,
): Promise<Instance[]> {
  return waitFor(
    async () => {
      const rows = await ctx.prisma.instance.findMany({ where: { id: { in: ids } } });
      return rows.length === ids.length &&
        rows.every((row) => row.taskStatus === 'NONE' || row.taskStatus === 'BUILDING_ERROR')
        ? rows
        : null;
    },
    { timeoutMs, intervalMs: 200, what: `the tasks of ${ids.length} instances to end` },
  );
}

/** Until the conductor has stored what the replica's heartbeats say about its replication. */
export async function waitForReplicationState(
  ctx: WorkerTestContext,
  instanceId: string,
  state: Instance['replicationState'],
  timeoutMs = 30_000,
): Promise<Instance> {
  return waitFor(
    async () => {
      const row = await ctx.row(instanceId);
      return row?.replicationState === state ? row : null;
    },
    { timeoutMs, intervalMs: 100, what: `instance ${instanceId} to report replication ${state}` },
  );
}

export function socketOf(ctx: WorkerTestContext, instanceId: string): string {
  const agent = JSON.parse(
    readFileSync(join(ctx.instanceDir(instanceId), 'etc', 'guest-agent.json'), 'utf8'),
  ) as { datastore: { runDir: string } };
  return join(agent.datastore.runDir, 'mysqld.sock');
}

export function volumeOf(ctx: WorkerTestContext, instanceId: string): string {
  const agent = JSON.parse(
    readFileSync(join(ctx.instanceDir(instanceId), 'etc', 'guest-agent.json'), 'utf8'),
  ) as { datastore: { volumeDir: string } };
  return agent.datastore.volumeDir;
}

/** root over the server's socket (unix_socket authentication): what the test sees behind the API. */
export async function asRoot<T>(
  ctx: WorkerTestContext,
  instanceId: string,
  run: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await mysql.createConnection({
    socketPath: socketOf(ctx, instanceId),
    user: 'root',
  });
  try {
    return await run(connection);
  } finally {
    await connection.end();
  }
}

/** The tenant's connection to an instance, over TCP. */
export async function tenantConnection(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
): Promise<Connection> {
  const row = await ctx.row(instanceId);
  return mysql.createConnection({
    host: row!.host!,
    port: row!.port!,
    user: tenant.userName,
    password: tenant.password,
    database: tenant.databaseName,
    connectTimeout: 5000,
  });
}

/** The ids of table `t` on an instance, as the tenant reads them. */
export async function idsOn(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
): Promise<number[]> {
  const connection = await tenantConnection(ctx, instanceId, tenant);
  try {
    const [rows] = await connection.query('SELECT id FROM t ORDER BY id');
    return (rows as Array<{ id: number }>).map((row) => row.id);
  } finally {
    await connection.end();
  }
}

/** Until the instance holds every id of `ids` (replication is asynchronous). */
export async function waitForIds(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
  ids: number[],
  timeoutMs = 30_000,
): Promise<number[]> {
  return waitFor(
    async () => {
      const present = new Set(await idsOn(ctx, instanceId, tenant));
      return ids.every((id) => present.has(id)) ? [...present] : null;
    },
    { timeoutMs, intervalMs: 100, what: `instance ${instanceId} to hold ${ids.length} rows` },
  );
}

/** The error code a tenant's write on an instance gets (null: it was written). */
export async function tenantWriteError(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
  id: number,
): Promise<string | null> {
  const connection = await tenantConnection(ctx, instanceId, tenant);
  try {
    await connection.query('INSERT INTO t (id) VALUES (?)', [id]);
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await connection.end();
  }
}

/**
 * Inserts rows one at a time on an instance until stopped, and records the ids the server
 * acknowledged (a failed insert, read-only or not, is not acknowledged).
 */
export function startInsertLoop(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
  firstId: number,
): { stop: () => Promise<{ acknowledged: number[]; refused: number }> } {
  const acknowledged: number[] = [];
  let refused = 0;
  let isStopped = false;
  const loop = (async () => {
    let connection: Connection | null = null;
    for (let id = firstId; !isStopped; id++) {
      try {
        connection ??= await tenantConnection(ctx, instanceId, tenant);
        await connection.query('INSERT INTO t (id) VALUES (?)', [id]);
        acknowledged.push(id);
      } catch {
        refused++;
        await connection?.end().catch(() => undefined);
        connection = null;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await connection?.end().catch(() => undefined);
  })();
  return {
    stop: async () => {
      isStopped = true;
      await loop;
      return { acknowledged, refused };
    },
  };
}
