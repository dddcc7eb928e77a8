import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { backupChunkName, type BackupType } from '@coffer/contracts';
import { type Backup } from '@coffer/db';
import { type ObjectStore } from '@coffer/objectstore';
import { startBackup as domainStartBackup } from '@coffer/db/domain/backups';
import { UNLIMITED } from '@coffer/db/quotas';
import { fillIncompressible } from '@coffer/testing/fill';
import { waitFor } from '@coffer/testing/wait';
import { expect } from 'vitest';

import { BACKUP_SLO_NAME } from '../src/backup/backup-slo';
import { type CreatedInstance, type WorkerTestContext } from './harness';
import { tenantConnection } from './replication';

/**
 * What the web app does for backups and restores (the row, the instance's task, the job),
 * for the worker's backup tests, and ways to look at the result.
 */

/** A backup as the web app starts one (the same domain function): the row NEW and the instance BACKING_UP in one transaction, then `backup.create`. */
export async function startBackup(
  ctx: WorkerTestContext,
  instanceId: string,
  type: BackupType,
  parentId: string | null = null,
): Promise<string> {
  const instance = await ctx.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
  const backupId = randomUUID();
  return domainStartBackup(
    ctx.prisma,
    {
      projectId: instance.projectId,
      instance,
      type,
      parentId,
      name: `${type.toLowerCase()} ${backupId.slice(0, 8)}`,
      backupId,
    },
    {
      quotaDefaults: { instances: UNLIMITED, volumeGb: UNLIMITED, backups: UNLIMITED },
      enqueue: ctx.enqueue.bind(ctx),
    },
  );
}

export async function waitForBackupEnd(
  ctx: WorkerTestContext,
  backupId: string,
  timeoutMs = 120_000,
): Promise<Backup> {
  return waitFor(
    async () => {
      const row = await ctx.prisma.backup.findUnique({ where: { id: backupId } });
      return row && (row.status === 'COMPLETED' || row.status === 'FAILED') ? row : null;
    },
    { timeoutMs, what: `backup ${backupId} to end` },
  );
}

/** Until the backup ended, which must be COMPLETED, and its instance is ACTIVE again (within 30 s); returns its row. */
export async function waitForBackupCompleted(
  ctx: WorkerTestContext,
  instanceId: string,
  backupId: string,
  timeoutMs = 120_000,
): Promise<Backup> {
  const backup = await waitForBackupEnd(ctx, backupId, timeoutMs);
  expect(backup.status, backup.faultMessage ?? '').toBe('COMPLETED');
  await ctx.waitForActive(instanceId, { timeoutMs: 30_000, what: 'ACTIVE after the backup' });
  return backup;
}

/** A restore as the web app makes one: a BUILDING row that remembers its backup, then `instance.create` carrying it. */
export async function startRestore(
  ctx: WorkerTestContext,
  backupId: string,
  name?: string,
): Promise<string> {
  const backup = await ctx.prisma.backup.findUniqueOrThrow({ where: { id: backupId } });
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: backup.projectId,
      name: name ?? `restored-${randomUUID().slice(0, 6)}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: backup.datastoreVersionId,
      volumeSizeGb: 1,
      taskStatus: 'BUILDING',
      serviceStatus: 'NEW',
      restoredFromBackupId: backupId,
    },
  });
  await ctx.enqueue('instance.create', row.id, {
    instanceId: row.id,
    restoreFromBackupId: backupId,
  });
  return row.id;
}

/** Waits until the instance is ACTIVE (task NONE, RUNNING) or its build failed; returns which, with the fault. */
export async function waitForBuildEnd(
  ctx: WorkerTestContext,
  instanceId: string,
  timeoutMs = 120_000,
) {
  return waitFor(
    async () => {
      const row = await ctx.row(instanceId);
      if (!row) return null;
      if (row.taskStatus === 'BUILDING_ERROR') return { outcome: 'ERROR' as const, row };
      if (row.taskStatus === 'NONE' && row.serviceStatus === 'RUNNING')
        return { outcome: 'ACTIVE' as const, row };
      return null;
    },
    { timeoutMs, what: `instance ${instanceId} to be built or fail` },
  );
}

/** Starts a backup of the instance and waits until it completed (and the instance is ACTIVE again). */
export async function backupAndWait(
  ctx: WorkerTestContext,
  instanceId: string,
  type: BackupType,
  parentId: string | null = null,
): Promise<Backup> {
  const backupId = await startBackup(ctx, instanceId, type, parentId);
  return waitForBackupCompleted(ctx, instanceId, backupId);
}

/**
 * An ACTIVE instance with the round-trip tests' table `t` (a value per row, `v`, and padding,
 * `pad`, to fill chunks), and its first rows (`firstRows`, SQL).
 */
export async function createSourceWithValues(
  ctx: WorkerTestContext,
  firstRows: string,
): Promise<CreatedInstance> {
  const source = await createActiveInstance(ctx);
  const sql = (statement: string) => tenantQuery(ctx, source.instanceId, source, statement);
  await sql('CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), pad BLOB)');
  await sql(firstRows);
  return source;
}

/** The values of table `t` on an instance, in the order they were inserted. */
export async function valuesOf(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
): Promise<string[]> {
  const result = (await tenantQuery(
    ctx,
    instanceId,
    tenant,
    'SELECT v FROM t ORDER BY id',
  )) as Array<{
    v: string;
  }>;
  return result.map((row) => row.v);
}

/** Runs SQL as the tenant's first user (made by ctx.createInstance), on any instance that has it. */
export async function tenantQuery(
  ctx: WorkerTestContext,
  instanceId: string,
  tenant: CreatedInstance,
  sql: string,
): Promise<unknown> {
  const connection = await tenantConnection(ctx, instanceId, tenant);
  try {
    const [rows] = await connection.query(sql);
    return rows;
  } finally {
    await connection.end();
  }
}

/** The root of the worker's local object store (COFFER_DATA_DIR/backups, settings.ts). */
export function localStoreRoot(ctx: WorkerTestContext): string {
  return join(ctx.dataDir, 'backups');
}

/** The object names stored for a backup in the worker's local store (empty when none). */
export function storedObjects(ctx: WorkerTestContext, location: string): string[] {
  try {
    return readdirSync(join(localStoreRoot(ctx), location)).sort();
  } catch {
    return [];
  }
}

/** A new instance (ctx.createInstance) once it is ACTIVE. */
export async function createActiveInstance(ctx: WorkerTestContext): Promise<CreatedInstance> {
  const instance = await ctx.createInstance();
  await ctx.waitForActive(instance.instanceId);
  return instance;
}

/** About `megabytes` MB that do not compress (in tens of MB), in a table `blobs`: a backup of tens of 1 MB chunks. */
export async function fillWithBlobs(
  ctx: WorkerTestContext,
  instance: CreatedInstance,
  megabytes: number,
): Promise<void> {
  await fillIncompressible((sql) => tenantQuery(ctx, instance.instanceId, instance, sql), {
    table: 'blobs',
    rows: Math.ceil(megabytes / 10) * 10_000,
  });
}

/**
 * The context set up, a worker whose backups go in 1 MB chunks, one upload at a time, and an
 * ACTIVE source with about 40 MB that do not compress: a backup slow enough to be caught in
 * the middle.
 */
export async function setUpWithSlowBackups(
  ctx: WorkerTestContext,
  megabytes = 40,
): Promise<CreatedInstance> {
  await ctx.setUp();
  await ctx.startWorker({
    env: { COFFER_BACKUP_CHUNK_MB: 1, COFFER_BACKUP_UPLOAD_CONCURRENCY: 1 },
  });
  const source = await createActiveInstance(ctx);
  await fillWithBlobs(ctx, source, megabytes);
  return source;
}

/**
 * Backups over a shared object store, end to end (the tempauth and the Keystone Swift files):
 * full, incremental and logical backups of `source` (made by createSourceWithValues), each
 * restored with the rows it held, then the full chain deleted, its objects gone from `store`
 * (the logical backup's kept).
 */
export async function roundTripBackupsThrough(
  ctx: WorkerTestContext,
  source: CreatedInstance,
  store: ObjectStore,
): Promise<void> {
  const full = await backupAndWait(ctx, source.instanceId, 'FULL');
  await tenantQuery(ctx, source.instanceId, source, "INSERT INTO t (v) VALUES ('between')");
  const incremental = await backupAndWait(ctx, source.instanceId, 'INCREMENTAL', full.id);
  await tenantQuery(
    ctx,
    source.instanceId,
    source,
    "INSERT INTO t (v) VALUES ('after-incremental')",
  );
  const logical = await backupAndWait(ctx, source.instanceId, 'LOGICAL');
  await tenantQuery(ctx, source.instanceId, source, "INSERT INTO t (v) VALUES ('after-logical')");

  // Swift: each backup also as one Static Large Object (backup-slo.ts), written before the
  // instance is ACTIVE again: its bytes are the chunks', in order.
  const isSlo = store.kind === 'swift';
  const listed = await store.list(full.location);
  expect(listed.map((object) => object.name.slice(full.location.length))).toContain(
    'manifest.json',
  );
  expect(listed).toHaveLength(full.chunkCount! + (isSlo ? 2 : 1));
  if (isSlo) {
    for (const backup of [full, incremental, logical]) {
      const whole = await store.get(`${backup.location}${BACKUP_SLO_NAME}`);
      expect(whole.length).toBe(Number(backup.sizeBytes));
      const chunks = await Promise.all(
        Array.from({ length: backup.chunkCount! }, (_, index) =>
          store.get(`${backup.location}${backupChunkName(index)}`),
        ),
      );
      expect(whole.equals(Buffer.concat(chunks))).toBe(true);
    }
  }

  for (const [backup, expected] of [
    [incremental, ['before-full', 'between']],
    [logical, ['before-full', 'between', 'after-incremental']],
  ] as const) {
    const restored = await startRestore(ctx, backup.id);
    const end = await waitForBuildEnd(ctx, restored);
    expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
    expect(await valuesOf(ctx, restored, source)).toEqual(expected);
    await ctx.deleteInstance(restored);
  }

  // Delete the chain, dependents first: its objects leave the container.
  await ctx.prisma.backup.updateMany({
    where: { id: { in: [full.id, incremental.id] } },
    data: { status: 'DELETING' },
  });
  await ctx.enqueue('backup.delete', incremental.id, { backupIds: [incremental.id, full.id] });
  await waitFor(
    async () =>
      (await ctx.prisma.backup.count({ where: { id: { in: [full.id, incremental.id] } } })) === 0,
    {
      timeoutMs: 30_000,
      what: 'the chain to be deleted',
    },
  );
  expect(await store.list(full.location)).toEqual([]);
  expect(await store.list(incremental.location)).toEqual([]);
  expect((await store.list(logical.location)).length).toBe(logical.chunkCount! + (isSlo ? 2 : 1));
}
