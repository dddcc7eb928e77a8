import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  startWorkerWithSlowBackups,
  startBackup,
  storedObjects,
  tenantQuery,
  waitForBackupEnd,
} from '../../test/backups';
import {
  isGuest,
  processesMentioning,
  waitFor,
  type CreatedInstance,
  WorkerTestContext,
} from '../../test/harness';

/**
 * A guest killed in the middle of a backup: the taskmanager notices its silence, the backup
 * ends FAILED with its partial objects removed, the server is rebooted and the instance is
 * ACTIVE again with its task cleared (the restarted guest reports the backup it found
 * interrupted, which changes nothing, and would refuse the stale job if it came back).
 */

const ctx = new WorkerTestContext({ name: 'backup-faults', portRange: { min: 29225, max: 29249 } });
let storeRoot: string;
let source: CreatedInstance;

beforeAll(async () => {
  await ctx.setUp();
  storeRoot = join(ctx.dataDir, 'backups');
  source = await startWorkerWithSlowBackups(ctx);
}, 180_000);

afterAll(async () => {
  await ctx.close();
  expect(processesMentioning(ctx.dataDir)).toEqual([]);
});

describe('a guest killed during a backup', () => {
  it('ends the backup FAILED with its objects removed, and the instance ACTIVE again', async () => {
    const backupId = await startBackup(ctx, source.instanceId, 'FULL');
    const location = (await ctx.prisma.backup.findUniqueOrThrow({ where: { id: backupId } }))
      .location;
    // In the middle: some chunks are stored, the manifest is not.
    await waitFor(
      () =>
        storedObjects(storeRoot, location).filter((name) => name.startsWith('chunk-')).length >= 2,
      {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: 'the first chunks to be stored',
      },
    );
    expect(storedObjects(storeRoot, location)).not.toContain('manifest.json');
    const guestPid = Number(
      readFileSync(join(ctx.instanceDir(source.instanceId), 'run', 'guest.pid'), 'utf8'),
    );
    process.kill(guestPid, 'SIGKILL');

    const backup = await waitForBackupEnd(ctx, backupId, 60_000);
    expect(backup.status).toBe('FAILED');
    expect(backup.faultMessage).toMatch(/the guest stopped responding/);
    expect(storedObjects(storeRoot, location)).toEqual([]);

    await waitFor(async () => (await ctx.displayStatus(source.instanceId)) === 'ACTIVE', {
      timeoutMs: 90_000,
      what: 'ACTIVE again, task cleared',
    });
    const row = await ctx.row(source.instanceId);
    expect(row!.taskStatus).toBe('NONE');
    const guests = processesMentioning(ctx.instanceDir(source.instanceId)).filter(isGuest);
    expect(guests).toHaveLength(1);
    expect(guests[0]!.pid).not.toBe(guestPid);
    // The data is still there and served.
    expect(
      await tenantQuery(ctx, source.instanceId, source, 'SELECT COUNT(*) AS n FROM blobs'),
    ).toEqual([{ n: 40_000 }]);
    // The backup stays FAILED (the restarted guest's report and the stale job change nothing), and nothing was stored again.
    await waitFor(
      async () =>
        (await ctx.prisma.backup.findUnique({ where: { id: backupId } }))?.status === 'FAILED',
      {
        timeoutMs: 5_000,
        what: 'the backup to stay FAILED',
      },
    );
    expect(storedObjects(storeRoot, location)).toEqual([]);
  });

  it('does not keep the instance from being backed up again', async () => {
    const backupId = await startBackup(ctx, source.instanceId, 'FULL');
    const backup = await waitForBackupEnd(ctx, backupId, 120_000);
    expect(backup.status, backup.faultMessage ?? '').toBe('COMPLETED');
    await waitFor(async () => (await ctx.displayStatus(source.instanceId)) === 'ACTIVE', {
      timeoutMs: 30_000,
      what: 'ACTIVE',
    });
  });
});
