import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Instance } from '@coffer/db';
import {
  startDetach as domainStartDetach,
  startEject as domainStartEject,
  startPromote as domainStartPromote,
  startReplicas as domainStartReplicas,
} from '@coffer/db/domain/replicas';
import { UNLIMITED } from '@coffer/db/quotas';
import { waitFor } from '@coffer/testing/wait';
import mysql, { type Connection } from 'mysql2/promise';

import { TEST_HEARTBEAT, type CreatedInstance, type WorkerTestContext } from './harness';

/**
 * What the web app does for replication (rows, tasks, jobs: the same domain functions,
 * `@coffer/db/domain/replicas`), for the worker's replication tests, and ways to look at the
 * servers: as the tenant over TCP, or as root over the socket (behind the control plane's
 * back, as a test must).
 */

/** What the domain's starts take from a worker test: its project, queue and heartbeat expiry, quotas unlimited. */
function startInput(ctx: WorkerTestContext) {
  return {
    projectId: ctx.projectId,
    heartbeatExpirySeconds: TEST_HEARTBEAT.expirySeconds,
    enqueue: ctx.enqueue.bind(ctx),
  };
}

/**
 * Replicas as the web app creates them (the same domain function): in one transaction the
 * source BACKING_UP, its snapshot backup NEW and the replicas' rows BUILDING (replicaOfId,
 * restored from the snapshot); then `backup.create` for the snapshot and `instance.create`
 * for each replica.
 */
export async function startReplicas(
  ctx: WorkerTestContext,
  sourceId: string,
  count: number,
): Promise<{ backupId: string; replicaIds: string[] }> {
  const { backupId, replicaIds } = await domainStartReplicas(ctx.prisma, {
    ...startInput(ctx),
    sourceInstanceId: sourceId,
    count,
    quotaDefaults: { instances: UNLIMITED, volumeGb: UNLIMITED, backups: UNLIMITED },
  });
  return { backupId, replicaIds };
}

/** Promote as the web app starts it: PROMOTING on the replica, its source and its siblings, then `replica.promote`. */
export function startPromote(ctx: WorkerTestContext, replicaId: string): Promise<string[]> {
  return domainStartPromote(ctx.prisma, { ...startInput(ctx), instanceId: replicaId });
}

/** Eject as the web app starts it: EJECTING on the (gone) source and its replicas, then `replica.eject`. */
export function startEject(ctx: WorkerTestContext, sourceId: string): Promise<string[]> {
  return domainStartEject(ctx.prisma, { ...startInput(ctx), instanceId: sourceId });
}

/** Detach as the web app starts it: DETACHING on the replica, then `replica.detach`. */
export async function startDetach(ctx: WorkerTestContext, replicaId: string): Promise<void> {
  await domainStartDetach(ctx.prisma, { ...startInput(ctx), instanceId: replicaId });
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
  /** And this holds of the row too (e.g. the lag back to 0 once the replica caught up). */
  also: (row: Instance) => boolean = () => true,
): Promise<Instance> {
  return waitFor(
    async () => {
      const row = await ctx.row(instanceId);
      return row?.replicationState === state && also(row) ? row : null;
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

/** Inserts `ids` into table `t` on an instance, as the tenant, one statement each; returns them. */
export async function insertIds(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
  ids: number[],
): Promise<number[]> {
  const connection = await tenantConnection(ctx, instanceId, tenant);
  try {
    for (const id of ids) await connection.query('INSERT INTO t (id) VALUES (?)', [id]);
  } finally {
    await connection.end();
  }
  return ids;
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
