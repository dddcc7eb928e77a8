import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { mariadbBackupDetailsSchema } from '@coffer/contracts/datastores/mariadb';
import { type Backup } from '@coffer/db';
import { processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createSourceWithValues,
  localStoreRoot,
  startBackup,
  startRestore,
  storedObjects,
  tenantQuery,
  valuesOf,
  waitForBackupCompleted,
  waitForBuildEnd,
} from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';

/**
 * Backups and restores through the control plane, for real: the worker (taskmanager,
 * conductor, watchdog), real guests and mariadbd, the local object store. Rows written
 * before a full backup, between it and an incremental, and after; each restore gives exactly
 * the rows up to its backup. A flipped byte, or another master key, fails the restore with
 * the backup and chunk named, and leaves no server, process or file behind.
 */

const ctx = new WorkerTestContext();
let source: CreatedInstance;
let full: Backup;
let incremental: Backup;
let logical: Backup;

function rows(instanceId: string, tenant = source): Promise<string[]> {
  return valuesOf(ctx, instanceId, tenant);
}

async function insert(...values: string[]): Promise<void> {
  await tenantQuery(
    ctx,
    source.instanceId,
    source,
    `INSERT INTO t (v) VALUES ${values.map((v) => `('${v}')`).join(', ')}`,
  );
}

async function backupAndWait(
  type: 'FULL' | 'INCREMENTAL' | 'LOGICAL',
  parentId: string | null = null,
): Promise<Backup> {
  const backupId = await startBackup(ctx, source.instanceId, type, parentId);
  expect((await ctx.row(source.instanceId))!.taskStatus).toBe('BACKING_UP');
  expect(await ctx.displayStatus(source.instanceId)).toBe('BACKUP');
  return waitForBackupCompleted(ctx, source.instanceId, backupId);
}

/** Nothing of the instance is left: no server, no process, no directory. */
async function expectNothingLeftOf(instanceId: string): Promise<void> {
  expect((await ctx.provider.listServers()).map((server) => server.instanceId)).not.toContain(
    instanceId,
  );
  expect(processesMentioning(ctx.instanceDir(instanceId))).toEqual([]);
  expect(existsSync(ctx.instanceDir(instanceId))).toBe(false);
}

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker();
  source = await createSourceWithValues(
    ctx,
    "INSERT INTO t (v, pad) SELECT CONCAT('filler-', seq), RANDOM_BYTES(1000) FROM seq_1_to_3000",
  );
  await tenantQuery(ctx, source.instanceId, source, "DELETE FROM t WHERE v LIKE 'filler-%'");
  await insert('before-full-1', 'before-full-2');
  full = await backupAndWait('FULL');
  await insert('between-1');
  incremental = await backupAndWait('INCREMENTAL', full.id);
  await insert('after-incremental');
  logical = await backupAndWait('LOGICAL');
  await insert('after-logical');
}, 300_000);

afterAll(() => ctx.closeLeavingNothing());

describe('backups through the control plane', () => {
  it('are recorded with their chain, size, duration, LSNs and position, and stored as chunks with the manifest', async () => {
    expect(full).toMatchObject({
      type: 'FULL',
      parentId: null,
      progress: 100,
      storeKind: 'local',
      faultMessage: null,
    });
    expect(full.sizeBytes! > 0n).toBe(true);
    expect(full.chunkCount).toBeGreaterThan(0);
    expect(full.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(full.startedAt!.getTime()).toBeLessThanOrEqual(full.finishedAt!.getTime());
    // MariaDB's record of each, through its module; an incremental continues from its parent's base.
    const fullDetails = mariadbBackupDetailsSchema.parse(full.details);
    expect(fullDetails.lsn!.from).toBe('0');
    expect(fullDetails.binlog!.file).toMatch(/^mysql-bin\./);
    expect(full.incrementalBase).toBe(fullDetails.lsn!.to);
    expect(incremental).toMatchObject({ type: 'INCREMENTAL', parentId: full.id });
    expect(mariadbBackupDetailsSchema.parse(incremental.details).lsn!.from).toBe(
      full.incrementalBase,
    );
    expect(logical).toMatchObject({ type: 'LOGICAL', parentId: null, incrementalBase: null });
    expect(mariadbBackupDetailsSchema.parse(logical.details).lsn).toBeNull();
    for (const backup of [full, incremental, logical]) {
      expect(storedObjects(ctx, backup.location)).toContain('manifest.json');
      expect(storedObjects(ctx, backup.location)).toHaveLength(backup.chunkCount! + 1);
    }
  });
});

describe('restores to a new instance', () => {
  it('of the incremental give exactly the rows up to it', async () => {
    const restored = await startRestore(ctx, incremental.id);
    const end = await waitForBuildEnd(ctx, restored);
    expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
    expect(await rows(restored)).toEqual(['before-full-1', 'before-full-2', 'between-1']);
    await ctx.deleteInstance(restored);
  });

  it('of the full give exactly the rows up to it', async () => {
    const restored = await startRestore(ctx, full.id);
    const end = await waitForBuildEnd(ctx, restored);
    expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
    expect(await rows(restored)).toEqual(['before-full-1', 'before-full-2']);
    await ctx.deleteInstance(restored);
  });

  it('of the logical backup give exactly the rows up to it, with its users', async () => {
    const restored = await startRestore(ctx, logical.id);
    const end = await waitForBuildEnd(ctx, restored);
    expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
    expect(await rows(restored)).toEqual([
      'before-full-1',
      'before-full-2',
      'between-1',
      'after-incremental',
    ]);
    await ctx.deleteInstance(restored);
  });

  it('with a byte flipped in one stored chunk fail naming the backup and chunk, and leave nothing behind', async () => {
    const chunkPath = join(localStoreRoot(ctx), full.location, 'chunk-000000');
    const original = readFileSync(chunkPath);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)] = damaged[Math.floor(damaged.length / 2)]! ^ 0x40;
    writeFileSync(chunkPath, damaged);
    try {
      const restored = await startRestore(ctx, incremental.id);
      const end = await waitForBuildEnd(ctx, restored);
      expect(end.outcome).toBe('ERROR');
      expect(end.row.faultMessage).toContain(
        `Backup ${full.id}: chunk 0 (chunk-000000) is damaged`,
      );
      await waitFor(async () => (await ctx.row(restored))?.computeServerId === null, {
        timeoutMs: 30_000,
        what: 'the server to be removed',
      });
      expect(await ctx.displayStatus(restored)).toBe('ERROR');
      await expectNothingLeftOf(restored);
      expect((await ctx.row(restored))!.port).toBeNull();
      await ctx.deleteInstance(restored);
      await waitFor(async () => (await ctx.row(restored)) === null, {
        timeoutMs: 30_000,
        what: 'the failed instance to be deleted',
      });
    } finally {
      writeFileSync(chunkPath, original);
    }
  });

  it('under another master key (a wrong backup key) fail the same way', async () => {
    // Another control plane: its project keys differ, so the backups made here do not open.
    const otherKey = randomBytes(32).toString('base64');
    const workers = ctx as unknown as { workers: Array<{ stop(): Promise<void> }> };
    for (const worker of workers.workers.splice(0)) await worker.stop();
    await ctx.startWorker({ env: { COFFER_MASTER_KEY: otherKey } });
    const restored = await startRestore(ctx, logical.id);
    const end = await waitForBuildEnd(ctx, restored);
    expect(end.outcome).toBe('ERROR');
    expect(end.row.faultMessage).toContain(
      `Backup ${logical.id}: chunk 0 (chunk-000000) failed authentication`,
    );
    await waitFor(async () => (await ctx.row(restored))?.computeServerId === null, {
      timeoutMs: 30_000,
      what: 'the server to be removed',
    });
    await expectNothingLeftOf(restored);
  });
});
