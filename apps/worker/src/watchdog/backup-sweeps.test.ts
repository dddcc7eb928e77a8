import { randomUUID } from 'node:crypto';

import { taskmanagerJobId, type TaskStatus } from '@coffer/contracts';
import { isReseedSnapshot, startReplicaReseed } from '@coffer/db/domain/replicas';
import { createBackupRow } from '@coffer/db/factories';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';
import { loadWorkerEnv } from '../env';
import { ChangePublisher } from '../events';
import { buildSettings } from '../settings';
import { enqueueTaskmanagerJob } from '../taskmanager/enqueue';
import { BackupSweeper } from './backup-sweeps';

/**
 * Each backup sweep by hand, with a clock of our choosing and rows written as a crash would
 * leave them (no worker runs, so queued jobs stay queued): schedules start backups as any
 * backup starts (the domain's insertBackup), retention marks old chains DELETING, and the
 * settling sweeps act on what nobody runs only once it has been seen for a grace.
 */

const ctx = new WorkerTestContext({ name: 'backup-sweeps' });
const GRACE_MS = 60_000;
let sweeper: BackupSweeper;

beforeAll(async () => {
  await ctx.setUp();
  const settings = buildSettings(loadWorkerEnv(ctx.workerEnv()), ctx.names, {
    orphanGraceMs: GRACE_MS,
  });
  sweeper = new BackupSweeper({
    prisma: ctx.prisma,
    queue: ctx.queue,
    publisher: new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger),
    settings,
    logger: ctx.logger,
  });
});

afterAll(async () => {
  await ctx.close();
});

beforeEach(async () => {
  await ctx.queue.obliterate({ force: true });
  await ctx.prisma.backupSchedule.deleteMany();
  await ctx.prisma.quota.deleteMany();
  await ctx.prisma.instance.updateMany({ data: { restoredFromBackupId: null } });
  await ctx.prisma.backup.deleteMany();
  await ctx.prisma.instance.deleteMany();
});

async function insertInstance(taskStatus: TaskStatus = 'NONE'): Promise<string> {
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `bs-${randomUUID().slice(0, 8)}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 1,
      taskStatus,
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    },
  });
  return row.id;
}

async function insertBackup(
  instanceId: string,
  status: 'NEW' | 'COMPLETED' | 'DELETING',
  extra: { isScheduled?: boolean; createdAt?: Date } = {},
): Promise<string> {
  const instance = {
    id: instanceId,
    projectId: ctx.projectId,
    name: 'bs',
    datastoreVersionId: ctx.versionId,
  };
  return createBackupRow(ctx.prisma, instance, { status, storeKind: 'pending', ...extra });
}

async function jobOf(name: 'backup.create' | 'backup.delete', id: string) {
  return ctx.queue.getJob(taskmanagerJobId(name, id));
}

describe('backup sweeps', () => {
  it('a due schedule starts a backup as any backup starts, or says why it waits', async () => {
    const instanceId = await insertInstance();
    const schedule = await ctx.prisma.backupSchedule.create({
      data: {
        projectId: ctx.projectId,
        instanceId,
        fullIntervalMinutes: 60,
        retainFullCount: 2,
        nextFullAt: new Date(Date.now() - 1_000),
      },
    });
    // The backups quota used up (an operator's override of 0): the backup waits, and says why.
    await ctx.prisma.quota.create({
      data: { projectId: ctx.projectId, resource: 'BACKUPS', hardLimit: 0 },
    });
    const waiting = await sweeper.sweep(new Date());
    expect(waiting.scheduled).toEqual([]);
    expect(waiting.postponed).toEqual([instanceId]);
    expect(
      (await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } })).lastError,
    ).toContain('backups quota is used up (0 of 0)');
    expect(await ctx.prisma.backup.count({ where: { instanceId } })).toBe(0);

    await ctx.prisma.quota.deleteMany();
    const started = await sweeper.sweep(new Date());
    expect(started.scheduled).toHaveLength(1);
    const backup = await ctx.prisma.backup.findUniqueOrThrow({
      where: { id: started.scheduled[0] },
    });
    // The store is recorded by the taskmanager when it starts the backup, as for the web's.
    expect(backup).toMatchObject({
      status: 'NEW',
      type: 'FULL',
      isScheduled: true,
      storeKind: 'pending',
    });
    expect(backup.name).toMatch(/^scheduled full /);
    expect((await ctx.row(instanceId))!.taskStatus).toBe('BACKING_UP');
    expect(await jobOf('backup.create', backup.id)).toBeDefined();
    const after = await ctx.prisma.backupSchedule.findUniqueOrThrow({ where: { id: schedule.id } });
    expect(after.lastError).toBeNull();
    expect(after.nextFullAt.getTime()).toBeGreaterThan(Date.now() + 59 * 60_000);
  });

  it('retention marks the scheduled chains past the kept ones DELETING and queues their delete', async () => {
    const instanceId = await insertInstance();
    await ctx.prisma.backupSchedule.create({
      data: {
        projectId: ctx.projectId,
        instanceId,
        fullIntervalMinutes: 60,
        retainFullCount: 1,
        nextFullAt: new Date(Date.now() + 3_600_000),
      },
    });
    const old = await insertBackup(instanceId, 'COMPLETED', {
      isScheduled: true,
      createdAt: new Date(Date.now() - 7_200_000),
    });
    const kept = await insertBackup(instanceId, 'COMPLETED', { isScheduled: true });
    const mine = await insertBackup(instanceId, 'COMPLETED', {
      createdAt: new Date(Date.now() - 9_000_000),
    });
    const report = await sweeper.sweep(new Date());
    expect(report.expired).toEqual([old]);
    const rows = await ctx.prisma.backup.findMany({ where: { id: { in: [old, kept, mine] } } });
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
      [old]: 'DELETING',
      [kept]: 'COMPLETED',
      [mine]: 'COMPLETED',
    });
    expect((await jobOf('backup.delete', old))?.data).toEqual({ backupIds: [old] });
  });

  it('settles lost creates, stale tasks and lost deletes once seen for the grace', async () => {
    const backingUp = await insertInstance('BACKING_UP');
    const lostCreate = await insertBackup(backingUp, 'NEW');
    const idle = await insertInstance();
    const orphan = await insertBackup(idle, 'NEW');
    const stale = await insertInstance('BACKING_UP');
    const lostDelete = await insertBackup(idle, 'DELETING');

    const now = Date.now();
    const first = await sweeper.sweep(new Date(now), { graceMs: GRACE_MS });
    expect(first).toMatchObject({
      requeuedCreates: [],
      failedOrphans: [],
      endedTasks: [],
      requeuedDeletes: [],
    });
    const second = await sweeper.sweep(new Date(now + GRACE_MS), { graceMs: GRACE_MS });
    expect(second.requeuedCreates).toEqual([lostCreate]);
    expect(second.failedOrphans).toEqual([orphan]);
    expect(second.endedTasks).toEqual([stale]);
    expect(second.requeuedDeletes).toEqual([lostDelete]);
    expect(await jobOf('backup.create', lostCreate)).toBeDefined();
    expect((await jobOf('backup.delete', lostDelete))?.data).toEqual({ backupIds: [lostDelete] });
    expect(await ctx.prisma.backup.findUniqueOrThrow({ where: { id: orphan } })).toMatchObject({
      status: 'FAILED',
      faultMessage: 'The backup was interrupted and cannot be resumed.',
    });
    expect((await ctx.row(stale))!.taskStatus).toBe('NONE');
    expect((await ctx.row(backingUp))!.taskStatus).toBe('BACKING_UP');
  });

  it("a replica's snapshot made again (reseed) records its timeline event with it, and is for the object store only however often its job is queued", async () => {
    const source = await insertInstance();
    const first = await insertBackup(source, 'COMPLETED');
    const replica = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: `bs-replica-${randomUUID().slice(0, 8)}`,
        flavorId: ctx.flavorId,
        datastoreVersionId: ctx.versionId,
        volumeSizeGb: 1,
        taskStatus: 'BUILDING',
        serviceStatus: 'NEW',
        replicaOfId: source,
        restoredFromBackupId: first,
      },
    });
    const { backupId } = await startReplicaReseed(ctx.prisma, {
      replicaId: replica.id,
      fromBackupId: first,
      reason: 'told too late',
      enqueue: (name, resourceId, payload) =>
        enqueueTaskmanagerJob(ctx.queue, name, resourceId, payload),
    });
    // The event is written with the state change (a worker dying right after loses nothing).
    const events = await ctx.prisma.instanceEvent.findMany({
      where: { instanceId: replica.id, kind: 'replica_reseeded' },
    });
    expect(events.map((e) => e.details)).toEqual([{ fromBackupId: first, backupId }]);
    expect(events[0]!.message).toContain('told too late');
    expect(await isReseedSnapshot(ctx.prisma, backupId)).toBe(true);
    expect(await isReseedSnapshot(ctx.prisma, first)).toBe(false);

    // Its job lost (a worker gone mid-create): the watchdog queues it again, from the rows.
    await (await jobOf('backup.create', backupId))!.remove();
    const now = Date.now();
    await sweeper.sweep(new Date(now), { graceMs: GRACE_MS });
    const second = await sweeper.sweep(new Date(now + GRACE_MS), { graceMs: GRACE_MS });
    expect(second.requeuedCreates).toEqual([backupId]);
    expect((await jobOf('backup.create', backupId))?.data).toEqual({
      backupId,
      instanceId: source,
    });
    // What create-backup asks before offering a direct stream: still the object store only.
    expect(await isReseedSnapshot(ctx.prisma, backupId)).toBe(true);
  });
});
