import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { guestQueueName } from '@coffer/contracts';
import { isGuest, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backupJobId } from '../taskmanager/create-backup';

import {
  startBackup,
  setUpWithSlowBackups,
  storedObjects,
  tenantQuery,
  waitForBackupCompleted,
  waitForBackupEnd,
} from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';

/**
 * A guest killed in the middle of a backup: the taskmanager notices its silence, the backup
 * ends FAILED with its partial objects removed, the server is rebooted and the instance is
 * ACTIVE again with its task cleared (the restarted guest reports the backup it found
 * interrupted, which changes nothing, and would refuse the stale job if it came back).
 */

const ctx = new WorkerTestContext({ name: 'backup-faults' });
let source: CreatedInstance;

beforeAll(async () => {
  source = await setUpWithSlowBackups(ctx);
}, 180_000);

afterAll(() => ctx.closeLeavingNothing());

/**
 * The id of the guest's report on `backupId` whose message mentions `words`, once the
 * conductor has read it and acked it (applied or not), else null.
 */
async function appliedBackupReport(backupId: string, words: string): Promise<string | null> {
  const stream = ctx.guestStream(source.instanceId);
  const entries = await ctx.redis.xrange(stream, '-', '+');
  const report = entries.find(([, fields]) => {
    const body = fields[fields.indexOf('body') + 1] ?? '';
    return body.includes(backupId) && body.includes('"backup"') && body.includes(words);
  });
  if (!report) return null;
  const [id] = report;
  return (await ctx.isAckedByConductor(id, stream)) ? id : null;
}

describe('a guest killed during a backup', () => {
  it('ends the backup FAILED with its objects removed, and the instance ACTIVE again', async () => {
    const backupId = await startBackup(ctx, source.instanceId, 'FULL');
    const location = (await ctx.prisma.backup.findUniqueOrThrow({ where: { id: backupId } }))
      .location;
    // In the middle: some chunks are stored, the manifest is not.
    await waitFor(
      () => storedObjects(ctx, location).filter((name) => name.startsWith('chunk-')).length >= 2,
      {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: 'the first chunks to be stored',
      },
    );
    expect(storedObjects(ctx, location)).not.toContain('manifest.json');
    const guestPid = Number(
      readFileSync(join(ctx.instanceDir(source.instanceId), 'run', 'guest.pid'), 'utf8'),
    );
    process.kill(guestPid, 'SIGKILL');

    const backup = await waitForBackupEnd(ctx, backupId, 60_000);
    expect(backup.status).toBe('FAILED');
    expect(backup.faultMessage).toMatch(/the guest stopped responding/);
    // The taskmanager removes the objects right after it wrote FAILED.
    await waitFor(() => storedObjects(ctx, location).length === 0, {
      timeoutMs: 10_000,
      what: "the failed backup's objects to be removed",
    });

    await ctx.waitForActive(source.instanceId, {
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
    // The backup stays as the taskmanager failed it, whatever the restarted guest says or does:
    // wait until the conductor has applied the guest's report of the backup it found
    // interrupted, and until the guest has taken back the stale create_backup job and refused
    // it; then nothing of the backup has changed, and nothing was stored again.
    const reportId = await waitFor(() => appliedBackupReport(backupId, 'interrupted'), {
      timeoutMs: 30_000,
      what: "the conductor to apply the restarted guest's report of the interrupted backup",
    });
    // The restarted guest handed the job its dead predecessor held back to itself as it
    // started (not after the dead guest's lock of a minute), and refused it.
    const guestQueue = new Queue(guestQueueName(source.instanceId), { connection: ctx.redis });
    try {
      const job = (await guestQueue.getJob(backupJobId(backupId)))!;
      expect(job, 'the stale create_backup job').toBeDefined();
      await waitFor(async () => ['failed', 'completed'].includes(await job.getState()), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'the restarted guest to take the stale backup job back and end it',
      });
      const ended = (await guestQueue.getJob(job.id!))!;
      expect(await ended.getState()).toBe('failed');
      expect(ended.failedReason).toMatch(/interrupted by a guest restart and is not made again/);
    } finally {
      await guestQueue.close();
    }
    expect(reportId).toBeTruthy();
    // Exactly the row the taskmanager wrote when it failed the backup (read as it turned FAILED).
    expect(await ctx.prisma.backup.findUniqueOrThrow({ where: { id: backupId } })).toEqual(backup);
    expect(storedObjects(ctx, location)).toEqual([]);
  });

  it('does not keep the instance from being backed up again', async () => {
    const backupId = await startBackup(ctx, source.instanceId, 'FULL');
    await waitForBackupCompleted(ctx, source.instanceId, backupId);
  });
});
