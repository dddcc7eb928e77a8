import { randomUUID } from 'node:crypto';

import { taskmanagerJobId } from '@coffer/contracts';
import { createBackupRow } from '@coffer/db/factories';
import { afterAll, describe, expect, it } from 'vitest';

import { fieldErrorsOf } from '~/server/errors';
import { codeOf } from '~/test/callers';
import { useHarness, useTaskmanagerQueue } from '~/test/suite';

/**
 * The backup procedures without a worker: what they check and write before the taskmanager
 * takes over (the worker's tests run backups and restores for real), and tenant isolation:
 * another project's backup cannot be listed, read, restored, deleted or scheduled.
 */

const h = useHarness();
const queue = useTaskmanagerQueue();
const jobIds: string[] = [];

afterAll(async () => {
  // Take back the jobs these tests queued (no worker of this test runs them).
  for (const id of jobIds) await (await queue.getJob(id))?.remove().catch(() => undefined);
});

/** The field errors a failed call carries (what a form shows under its fields). */
async function fieldErrorsFrom(
  promise: Promise<unknown>,
): Promise<Record<string, string[]> | null> {
  try {
    await promise;
  } catch (error) {
    return fieldErrorsOf((error as { cause?: unknown }).cause);
  }
  throw new Error('the call succeeded');
}

async function setUpProject(name: string) {
  const { owner, project } = await h.createProjectWithOwner(name);
  const instance = await h.insertInstance(project.id, {
    name: `${name.toLowerCase()}-db`,
    taskStatus: 'NONE',
    serviceStatus: 'RUNNING',
    lastHeartbeatAt: new Date(),
  });
  const flavor = await h.prisma.flavor.findUniqueOrThrow({ where: { id: instance.flavorId } });
  const addBackup = async (
    data: {
      type?: 'FULL' | 'INCREMENTAL' | 'LOGICAL';
      status?: 'COMPLETED' | 'BUILDING' | 'FAILED';
      parentId?: string;
      rawSizeBytes?: bigint;
    } = {},
  ) => {
    return createBackupRow(h.prisma, instance, {
      status: 'COMPLETED',
      progress: 100,
      sizeBytes: 1234n,
      manifestSha256: 'a'.repeat(64),
      startedAt: new Date(Date.now() - 2000),
      finishedAt: new Date(),
      ...data,
    });
  };
  const caller = h.callerFor(owner);
  /** The owner's backup.create of the instance. */
  const backUp = (input: Partial<Parameters<typeof caller.backup.create>[0]> = {}) =>
    caller.backup.create({ projectId: project.id, instanceId: instance.id, ...input });
  return { owner, project, caller, instance, flavor, addBackup, backUp };
}

describe('tenant isolation of backups', () => {
  it('another project cannot list, read, restore, delete, back up or schedule', async () => {
    const a = await setUpProject('Alpha');
    const b = await setUpProject('Beta');
    const backupOfA = await a.addBackup();
    const own = { projectId: b.project.id };

    expect((await b.caller.backup.list(own)).map((backup) => backup.id)).not.toContain(backupOfA);
    expect(await b.caller.backup.list({ ...own, instanceId: a.instance.id })).toEqual([]);
    expect(await codeOf(b.caller.backup.get({ ...own, backupId: backupOfA }))).toBe('NOT_FOUND');
    expect(
      await codeOf(
        b.caller.backup.delete({ ...own, backupId: backupOfA, includeDependents: true }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        b.caller.instance.create({
          ...own,
          name: 'stolen',
          flavorId: b.flavor.id,
          volumeSizeGb: 1,
          restoreFromBackupId: backupOfA,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(await codeOf(b.caller.backup.create({ ...own, instanceId: a.instance.id }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(b.caller.backup.schedule({ ...own, instanceId: a.instance.id }))).toBe(
      'NOT_FOUND',
    );
    expect(
      await codeOf(
        b.caller.backup.setSchedule({
          ...own,
          instanceId: a.instance.id,
          fullIntervalMinutes: 1440,
          retainFullCount: 3,
        }),
      ),
    ).toBe('NOT_FOUND');
    // Naming A's project does not help a member of B only.
    expect(
      await codeOf(b.caller.backup.get({ projectId: a.project.id, backupId: backupOfA })),
    ).toBe('NOT_FOUND');
    // Nothing changed for A.
    expect((await h.prisma.backup.findUniqueOrThrow({ where: { id: backupOfA } })).status).toBe(
      'COMPLETED',
    );
    expect(await h.prisma.instance.count({ where: { name: 'stolen' } })).toBe(0);
  });

  it("an incremental on another project's backup, or on none, is NOT_FOUND; on another instance's, a clear refusal", async () => {
    const a = await setUpProject('Gamma');
    const b = await setUpProject('Delta');
    const backupOfA = await a.addBackup();
    const incremental = (parentId: string) =>
      b.caller.backup.create({
        projectId: b.project.id,
        instanceId: b.instance.id,
        type: 'INCREMENTAL',
        parentId,
      });
    expect(await codeOf(incremental(backupOfA))).toBe('NOT_FOUND');
    expect(await codeOf(incremental(randomUUID()))).toBe('NOT_FOUND');

    // Another instance of the same project: the project's own data, refused with the reason.
    const sibling = await h.prisma.instance.create({
      data: {
        projectId: b.project.id,
        name: 'delta-sibling',
        flavorId: b.instance.flavorId,
        datastoreVersionId: b.instance.datastoreVersionId,
        volumeSizeGb: 1,
        taskStatus: 'NONE',
        serviceStatus: 'RUNNING',
        lastHeartbeatAt: new Date(),
      },
    });
    const backupOfSibling = await createBackupRow(h.prisma, sibling, {
      name: 'sibling full',
      status: 'COMPLETED',
    });
    expect(await fieldErrorsFrom(incremental(backupOfSibling))).toEqual({
      parentId: [
        'This backup is of another instance; an incremental backup follows a backup of its own instance',
      ],
    });
    expect(await h.prisma.backup.count({ where: { instanceId: b.instance.id } })).toBe(0);
  });

  it("the live feed never carries another project's backups", async () => {
    const a = await setUpProject('Gamma');
    const b = await setUpProject('Delta');
    const feed = await b.caller.backup.onChange({ projectId: b.project.id });
    const ownBackup = await b.addBackup();
    const received: string[] = [];
    const reading = (async () => {
      for await (const envelope of feed as AsyncIterable<unknown>) {
        const change = (Array.isArray(envelope) ? envelope[1] : envelope) as {
          type: string;
          backup?: { id: string };
        };
        if (change.backup) received.push(change.backup.id);
        if (change.backup?.id === ownBackup) break;
      }
    })();
    const { publishChange } = await import('~/server/events');
    const foreign = await a.addBackup();
    await publishChange({
      type: 'backup.changed',
      projectId: a.project.id,
      instanceId: a.instance.id,
      backupId: foreign,
    });
    await publishChange({
      type: 'backup.changed',
      projectId: b.project.id,
      instanceId: b.instance.id,
      backupId: ownBackup,
    });
    await reading;
    expect(received).toContain(ownBackup);
    expect(received).not.toContain(foreign);
  });
});

describe('backups of a project', () => {
  it('start from an ACTIVE instance: NEW, the instance BACKING_UP, one job; a second click is refused', async () => {
    const { caller, project, instance } = await setUpProject('Start');
    const backup = await caller.backup.create({
      projectId: project.id,
      instanceId: instance.id,
      name: 'before the upgrade',
    });
    jobIds.push(taskmanagerJobId('backup.create', backup.id));
    expect(backup).toMatchObject({
      status: 'NEW',
      type: 'FULL',
      name: 'before the upgrade',
      instanceName: instance.name,
      parentId: null,
    });
    expect(
      (await h.prisma.instance.findUniqueOrThrow({ where: { id: instance.id } })).taskStatus,
    ).toBe('BACKING_UP');
    expect(await queue.getJob(taskmanagerJobId('backup.create', backup.id))).toBeTruthy();
    expect(
      (await caller.instance.get({ projectId: project.id, instanceId: instance.id })).status,
    ).toBe('BACKUP');
    expect(
      await codeOf(caller.backup.create({ projectId: project.id, instanceId: instance.id })),
    ).toBe('CONFLICT');
  });

  it('an incremental needs a completed physical parent, and finds the newest by itself', async () => {
    const { addBackup, backUp } = await setUpProject('Chain');
    expect(await fieldErrorsFrom(backUp({ type: 'INCREMENTAL' }))).toEqual({
      type: [expect.stringContaining('needs a completed full backup')],
    });
    const logical = await addBackup({ type: 'LOGICAL' });
    expect(await codeOf(backUp({ type: 'INCREMENTAL', parentId: logical }))).toBe('BAD_REQUEST');
    const full = await addBackup();
    const incremental = await backUp({ type: 'INCREMENTAL' });
    jobIds.push(taskmanagerJobId('backup.create', incremental.id));
    expect(incremental.parentId).toBe(full);
  });

  it('respects the backups quota in the same transaction', async () => {
    const { caller, project, instance, addBackup } = await setUpProject('Quota');
    await addBackup();
    await h.prisma.quota.create({
      data: { projectId: project.id, resource: 'BACKUPS', hardLimit: 1 },
    });
    await expect(
      caller.backup.create({ projectId: project.id, instanceId: instance.id }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('at most 1 backup'),
    });
    expect(
      (await h.prisma.instance.findUniqueOrThrow({ where: { id: instance.id } })).taskStatus,
    ).toBe('NONE');
  });

  it('are deleted alone only when nothing depends on them, or with their whole chain', async () => {
    const { caller, project, addBackup } = await setUpProject('Delete');
    const full = await addBackup();
    const incremental = await addBackup({ type: 'INCREMENTAL', parentId: full });
    const next = await addBackup({ type: 'INCREMENTAL', parentId: incremental });
    const refusal = caller.backup.delete({ projectId: project.id, backupId: full });
    await expect(refusal).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('2 incremental backups depend'),
    });
    const listed = await caller.backup.list({ projectId: project.id });
    expect(listed.find((backup) => backup.id === full)).toMatchObject({
      dependentCount: 1,
      durationMs: expect.any(Number),
      sizeBytes: 1234,
    });

    const deleted = await caller.backup.delete({
      projectId: project.id,
      backupId: full,
      includeDependents: true,
    });
    expect(deleted.status).toBe('DELETING');
    const statuses = await h.prisma.backup.findMany({
      where: { id: { in: [full, incremental, next] } },
      select: { status: true },
    });
    expect(statuses.every((row) => row.status === 'DELETING')).toBe(true);
    const job = await queue.getJob(taskmanagerJobId('backup.delete', next));
    jobIds.push(taskmanagerJobId('backup.delete', next));
    expect(job?.data).toEqual({ backupIds: [next, incremental, full] });
  });

  it('a delete and an incremental on the same parent at once: one of them is refused, never both accepted', async () => {
    const { caller, project, instance, addBackup } = await setUpProject('Race');
    for (let round = 0; round < 6; round++) {
      const full = await addBackup();
      const [deleted, incremental] = await Promise.allSettled([
        caller.backup.delete({ projectId: project.id, backupId: full }),
        caller.backup.create({
          projectId: project.id,
          instanceId: instance.id,
          type: 'INCREMENTAL',
          parentId: full,
        }),
      ]);
      if (incremental.status === 'fulfilled')
        jobIds.push(taskmanagerJobId('backup.create', incremental.value.id));
      if (deleted.status === 'fulfilled') jobIds.push(taskmanagerJobId('backup.delete', full));
      expect(
        [deleted.status, incremental.status].filter((status) => status === 'fulfilled'),
        `round ${round}`,
      ).toHaveLength(1);
      // Nothing is ever built on a backup that is going.
      expect(
        await h.prisma.backup.count({ where: { parentId: full, parent: { status: 'DELETING' } } }),
      ).toBe(0);
      await h.prisma.instance.update({ where: { id: instance.id }, data: { taskStatus: 'NONE' } });
    }
  });

  it('are not deleted while an instance is restored from them, or from a backup built on them', async () => {
    const { caller, project, flavor, addBackup } = await setUpProject('Restoring');
    const full = await addBackup();
    const incremental = await addBackup({ type: 'INCREMENTAL', parentId: full });
    const restored = await caller.instance.create({
      projectId: project.id,
      name: 'from-incremental',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      restoreFromBackupId: incremental,
    });
    jobIds.push(taskmanagerJobId('instance.create', restored.id));
    for (const backupId of [full, incremental]) {
      await expect(
        caller.backup.delete({ projectId: project.id, backupId, includeDependents: true }),
      ).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('restored') });
    }
    const statuses = await h.prisma.backup.findMany({
      where: { id: { in: [full, incremental] } },
      select: { status: true },
    });
    expect(statuses.map((row) => row.status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('being made cannot be deleted', async () => {
    const { caller, project, addBackup } = await setUpProject('Busy');
    const building = await addBackup({ status: 'BUILDING' });
    expect(await codeOf(caller.backup.delete({ projectId: project.id, backupId: building }))).toBe(
      'CONFLICT',
    );
  });
});

describe("a datastore version's backup strategy", () => {
  it('logical: a backup is logical unless named, and there are no incrementals to create or schedule', async () => {
    const { caller, project, instance, addBackup, backUp } = await setUpProject('Logical');
    const physical = await h.prisma.datastoreVersion.findUniqueOrThrow({
      where: { id: instance.datastoreVersionId },
    });
    const logical = await h.prisma.datastoreVersion.create({
      data: {
        datastoreId: physical.datastoreId,
        name: `${physical.name}-logical-${randomUUID().slice(0, 4)}`,
        version: physical.version,
        isDefault: false,
        backupStrategy: 'LOGICAL',
      },
    });
    await h.prisma.instance.update({
      where: { id: instance.id },
      data: { datastoreVersionId: logical.id },
    });
    const view = await caller.instance.get({ projectId: project.id, instanceId: instance.id });
    expect(view.datastore.backupStrategy).toBe('LOGICAL');
    await addBackup(); // a full one made before: still no incremental on it

    expect(await fieldErrorsFrom(backUp({ type: 'INCREMENTAL' }))).toEqual({
      type: [expect.stringContaining('no incremental backups')],
    });
    expect(
      await fieldErrorsFrom(
        caller.backup.setSchedule({
          projectId: project.id,
          instanceId: instance.id,
          isEnabled: true,
          fullType: 'FULL',
          fullIntervalMinutes: 24 * 60,
          incrementalIntervalMinutes: 60,
          retainFullCount: 2,
        }),
      ),
    ).toEqual({ incrementalIntervalMinutes: [expect.stringContaining('no incremental backups')] });
    expect(await h.prisma.backupSchedule.count({ where: { instanceId: instance.id } })).toBe(0);

    const backup = await caller.backup.create({ projectId: project.id, instanceId: instance.id });
    jobIds.push(taskmanagerJobId('backup.create', backup.id));
    expect(backup.type).toBe('LOGICAL');
  });

  it('physical (the default): a backup is a physical full one unless named', async () => {
    const { caller, project, instance } = await setUpProject('Physical');
    const backup = await caller.backup.create({ projectId: project.id, instanceId: instance.id });
    jobIds.push(taskmanagerJobId('backup.create', backup.id));
    expect(backup.type).toBe('FULL');
  });
});

describe('restores', () => {
  it('create an instance that remembers its backup and takes its datastore version', async () => {
    const { caller, project, flavor, addBackup } = await setUpProject('Restore');
    const backupId = await addBackup();
    const created = await caller.instance.create({
      projectId: project.id,
      name: 'restored',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      restoreFromBackupId: backupId,
    });
    jobIds.push(taskmanagerJobId('instance.create', created.id));
    expect(created).toMatchObject({ status: 'BUILD', restoredFromBackupId: backupId });
    const job = await queue.getJob(taskmanagerJobId('instance.create', created.id));
    expect(job?.data).toMatchObject({ instanceId: created.id, restoreFromBackupId: backupId });
  });

  it('choose their volume size: at least what the chain held, quota-checked as any create', async () => {
    const { caller, project, flavor, addBackup } = await setUpProject('RestoreSize');
    const full = await addBackup({ rawSizeBytes: 3n * 1024n ** 3n });
    const incremental = await addBackup({
      type: 'INCREMENTAL',
      parentId: full,
      rawSizeBytes: 1024n ** 3n / 2n,
    });
    const ref = { projectId: project.id, backupId: incremental };
    expect(await caller.backup.restoreNeeds(ref)).toEqual({ neededVolumeGb: 4 });
    const restore = (volumeSizeGb: number, name: string) =>
      caller.instance.create({
        projectId: project.id,
        name,
        flavorId: flavor.id,
        volumeSizeGb,
        restoreFromBackupId: incremental,
      });
    expect(await fieldErrorsFrom(restore(3, 'too-small'))).toEqual({
      volumeSizeGb: [expect.stringContaining('at least 4 GB')],
    });
    await h.prisma.quota.create({
      data: { projectId: project.id, resource: 'VOLUME_GB', hardLimit: 6 },
    });
    expect(await fieldErrorsFrom(restore(6, 'over-quota'))).toEqual({
      volumeSizeGb: [expect.any(String)],
    });
    const created = await restore(5, 'big-enough');
    jobIds.push(taskmanagerJobId('instance.create', created.id));
    expect(created).toMatchObject({ volumeSizeGb: 5, restoredFromBackupId: incremental });
  });

  it('refuse a backup that has not completed', async () => {
    const { caller, project, flavor, addBackup } = await setUpProject('NotYet');
    const failed = await addBackup({ status: 'FAILED' });
    const attempt = caller.instance.create({
      projectId: project.id,
      name: 'nope',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      restoreFromBackupId: failed,
    });
    expect(await fieldErrorsFrom(attempt)).toEqual({
      restoreFromBackupId: [expect.stringContaining('FAILED')],
    });
    expect(await h.prisma.instance.count({ where: { projectId: project.id, name: 'nope' } })).toBe(
      0,
    );
  });
});

describe('schedules', () => {
  it('a new instance backs up daily by default, first in the backup window; a create can say otherwise', async () => {
    const { caller, project, flavor } = await setUpProject('Default');
    const create = (name: string, extra: object = {}) =>
      caller.instance.create({
        projectId: project.id,
        name,
        flavorId: flavor.id,
        volumeSizeGb: 1,
        ...extra,
      });
    const before = Date.now();
    const plain = await create('plain');
    const kept = await create('kept', { backups: { isEnabled: true, retainFullCount: 3 } });
    const none = await create('none', { backups: { isEnabled: false } });
    for (const { id } of [plain, kept, none]) jobIds.push(taskmanagerJobId('instance.create', id));
    const schedule = await caller.backup.schedule({ projectId: project.id, instanceId: plain.id });
    expect(schedule).toMatchObject({
      isEnabled: true,
      fullType: 'FULL',
      fullIntervalMinutes: 24 * 60,
      incrementalIntervalMinutes: null,
      retainFullCount: 7,
    });
    // COFFER_DEFAULT_BACKUP_WINDOW's 03:00 UTC, at least an hour away: never during a test run.
    const next = schedule!.nextFullAt;
    expect(next.getTime() - before).toBeGreaterThanOrEqual(60 * 60_000);
    expect(next.getTime() - before).toBeLessThanOrEqual(25 * 60 * 60_000);
    expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([3, 0]);
    expect(
      await caller.backup.schedule({ projectId: project.id, instanceId: kept.id }),
    ).toMatchObject({ retainFullCount: 3 });
    expect(await caller.backup.schedule({ projectId: project.id, instanceId: none.id })).toBeNull();
  });

  it('are set, read back and checked', async () => {
    const { caller, project, instance } = await setUpProject('Schedule');
    const input = { projectId: project.id, instanceId: instance.id };
    expect(await caller.backup.schedule(input)).toBeNull();
    const set = await caller.backup.setSchedule({
      ...input,
      fullIntervalMinutes: 1440,
      incrementalIntervalMinutes: 60,
      retainFullCount: 7,
    });
    expect(set).toMatchObject({
      isEnabled: true,
      fullType: 'FULL',
      fullIntervalMinutes: 1440,
      incrementalIntervalMinutes: 60,
      retainFullCount: 7,
    });
    expect(set.nextFullAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await caller.backup.schedule(input)).toMatchObject({ retainFullCount: 7 });
    expect(
      await fieldErrorsFrom(
        caller.backup.setSchedule({
          ...input,
          fullType: 'LOGICAL',
          fullIntervalMinutes: 1440,
          incrementalIntervalMinutes: 60,
          retainFullCount: 7,
        }),
      ),
    ).toEqual({ incrementalIntervalMinutes: [expect.stringContaining('physical')] });
    await caller.backup.deleteSchedule(input);
    expect(await caller.backup.schedule(input)).toBeNull();
  });
});
