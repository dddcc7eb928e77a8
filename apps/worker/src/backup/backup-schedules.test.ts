import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedObjects } from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';

/**
 * Schedules run by the watchdog: a due full backup, then an incremental on it, then a new
 * full; with "keep 1 full chain", the older chain (its full and its incremental) is deleted
 * with its objects. A busy instance postpones its scheduled backup, with the reason kept; so
 * does a project whose backups quota is used up.
 */

const ctx = new WorkerTestContext({
  name: 'backup-schedules',
});
let source: CreatedInstance;

async function scheduledBackups() {
  return ctx.prisma.backup.findMany({
    where: { instanceId: source.instanceId, isScheduled: true },
    orderBy: { createdAt: 'asc' },
  });
}

async function waitForScheduled(count: number, what: string) {
  return waitFor(
    async () => {
      const rows = await scheduledBackups();
      return rows.length >= count && rows.every((row) => row.status === 'COMPLETED') ? rows : null;
    },
    { timeoutMs: 60_000, what },
  );
}

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker({ tuning: { backupScheduleIntervalMs: 300 } });
  source = await ctx.createInstance();
  await ctx.waitForActive(source.instanceId, {
    timeoutMs: 60_000,
    what: 'the source ACTIVE',
  });
}, 120_000);

afterAll(() => ctx.closeLeavingNothing());

describe('backup schedules', () => {
  it('make fulls and incrementals when due, and keep only the newest chain', async () => {
    const far = new Date(Date.now() + 24 * 3600_000);
    const schedule = await ctx.prisma.backupSchedule.create({
      data: {
        projectId: ctx.projectId,
        instanceId: source.instanceId,
        fullType: 'FULL',
        fullIntervalMinutes: 1440,
        incrementalIntervalMinutes: 60,
        retainFullCount: 1,
        nextFullAt: new Date(),
      },
    });
    const [first] = await waitForScheduled(1, 'the scheduled full backup');
    expect(first).toMatchObject({ type: 'FULL', parentId: null, isScheduled: true });
    const after = await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } });
    expect(after.nextFullAt.getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect(after.nextIncrementalAt!.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(after.lastRunAt).not.toBeNull();

    await ctx.prisma.backupSchedule.update({
      where: { id: schedule.id },
      data: { nextIncrementalAt: new Date(), nextFullAt: far },
    });
    const [, second] = await waitForScheduled(2, 'the scheduled incremental backup');
    expect(second).toMatchObject({ type: 'INCREMENTAL', parentId: first!.id });

    // A busy instance: the due backup waits, and says why.
    await ctx.prisma.instance.update({
      where: { id: source.instanceId },
      data: { taskStatus: 'REBOOTING' },
    });
    await ctx.prisma.backupSchedule.update({
      where: { id: schedule.id },
      data: { nextFullAt: new Date() },
    });
    await waitFor(
      async () =>
        (
          await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } })
        ).lastError?.includes('REBOOT'),
      {
        timeoutMs: 10_000,
        what: 'the postponed backup to say why',
      },
    );
    expect(await scheduledBackups()).toHaveLength(2);
    await ctx.prisma.instance.update({
      where: { id: source.instanceId },
      data: { taskStatus: 'NONE' },
    });

    // The new full comes; the older chain (full and incremental) goes, objects and rows.
    const third = await waitFor(
      async () =>
        (await scheduledBackups()).find(
          (row) => row.type === 'FULL' && row.id !== first!.id && row.status === 'COMPLETED',
        ),
      { timeoutMs: 60_000, what: 'the next scheduled full' },
    );
    await waitFor(
      async () =>
        (await ctx.prisma.backup.count({ where: { id: { in: [first!.id, second!.id] } } })) === 0,
      {
        timeoutMs: 30_000,
        what: 'the expired chain to be deleted',
      },
    );
    expect(storedObjects(ctx, first!.location)).toEqual([]);
    expect(storedObjects(ctx, second!.location)).toEqual([]);
    expect(storedObjects(ctx, third.location)).toContain('manifest.json');
    expect((await scheduledBackups()).map((row) => row.id)).toEqual([third.id]);
    expect(
      (await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } })).lastError,
    ).toBeNull();

    // The project's backups quota (an operator's override of 1, which the kept full uses up):
    // the due backup waits, says why, and starts once the quota allows it.
    await ctx.prisma.quota.create({
      data: { projectId: ctx.projectId, resource: 'BACKUPS', hardLimit: 1 },
    });
    await ctx.prisma.backupSchedule.update({
      where: { id: schedule.id },
      data: { nextIncrementalAt: new Date(), nextFullAt: far },
    });
    await waitFor(
      async () =>
        (
          await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } })
        ).lastError?.includes('backups quota is used up (1 of 1)'),
      { timeoutMs: 10_000, what: 'the backup held back by the quota to say why' },
    );
    expect((await scheduledBackups()).map((row) => row.id)).toEqual([third.id]);
    await ctx.prisma.quota.updateMany({
      where: { projectId: ctx.projectId, resource: 'BACKUPS' },
      data: { hardLimit: 2 },
    });
    const [, allowed] = await waitForScheduled(2, 'the incremental once the quota allows it');
    expect(allowed).toMatchObject({ type: 'INCREMENTAL', parentId: third.id });
  });
});
