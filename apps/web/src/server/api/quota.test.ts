import { randomUUID } from 'node:crypto';

import { AppError } from '@coffer/contracts';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { createHarness, type Harness } from '~/test/harness';

/**
 * Quotas are checked in the insert's transaction under a lock on the project: concurrent
 * creates cannot pass them together. Operators override them; the console shows the usage.
 */

let h: Harness;
const queuePrefix = `test-quota-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  process.env.COFFER_QUEUE_PREFIX = queuePrefix;
  h = await createHarness();
});
afterAll(async () => {
  const { getTaskmanagerQueue } = await import('~/server/queue');
  await getTaskmanagerQueue().obliterate({ force: true });
  await h?.close();
});

async function setQuota(
  projectId: string,
  resource: 'INSTANCES' | 'VOLUME_GB' | 'BACKUPS',
  hardLimit: number,
) {
  await h.prisma.quota.upsert({
    where: { projectId_resource: { projectId, resource } },
    create: { projectId, resource, hardLimit },
    update: { hardLimit },
  });
}

async function smallestFlavorId(): Promise<string> {
  return (
    await h.prisma.flavor.findFirstOrThrow({
      where: { isDisabled: false },
      orderBy: { ramMb: 'asc' },
    })
  ).id;
}

function settle<T>(promises: Promise<T>[]) {
  return Promise.allSettled(promises).then((results) => ({
    fulfilled: results
      .filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled')
      .map((r) => r.value),
    rejected: results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason as unknown),
  }));
}

describe('instance quota', () => {
  it('20 concurrent creates against a quota of 5: exactly 5 succeed, 15 get a clear quota error', async () => {
    const { owner, project } = await h.createProjectWithOwner('Quota 5');
    await setQuota(project.id, 'INSTANCES', 5);
    const caller = h.callerFor(owner);
    const flavorId = await smallestFlavorId();

    const { fulfilled, rejected } = await settle(
      Array.from({ length: 20 }, (_, i) =>
        caller.instance.create({
          projectId: project.id,
          name: `db-${i}`,
          flavorId,
          volumeSizeGb: 1,
        }),
      ),
    );
    expect(fulfilled).toHaveLength(5);
    expect(rejected).toHaveLength(15);
    for (const error of rejected) {
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('FORBIDDEN');
      expect((error as TRPCError).cause).toBeInstanceOf(AppError);
      expect(((error as TRPCError).cause as AppError).code).toBe('QUOTA_EXCEEDED');
      expect((error as TRPCError).message).toMatch(
        /^Quota exceeded: this project may have at most 5 instances and has 5\./,
      );
    }
    expect(await h.prisma.instance.count({ where: { projectId: project.id } })).toBe(5);
    expect(await caller.quota.get({ projectId: project.id })).toMatchObject({
      instances: { inUse: 5, limit: 5, isOverride: true },
    });

    // One more, sequentially, is refused the same way; other projects are not affected.
    expect(
      await codeOf(
        caller.instance.create({
          projectId: project.id,
          name: 'db-extra',
          flavorId,
          volumeSizeGb: 1,
        }),
      ),
    ).toBe('FORBIDDEN');
    const other = await h.createProjectWithOwner('Unaffected');
    expect(
      await codeOf(
        h
          .callerFor(other.owner)
          .instance.create({ projectId: other.project.id, name: 'db', flavorId, volumeSizeGb: 1 }),
      ),
    ).toBe('OK');
  });

  it('20 concurrent creates of 3 GB against a volume quota of 10 GB: exactly 3 succeed, the rest name the volume field', async () => {
    const { owner, project } = await h.createProjectWithOwner('Volume 10');
    await setQuota(project.id, 'INSTANCES', -1);
    await setQuota(project.id, 'VOLUME_GB', 10);
    const caller = h.callerFor(owner);
    const flavorId = await smallestFlavorId();

    const { fulfilled, rejected } = await settle(
      Array.from({ length: 20 }, (_, i) =>
        caller.instance.create({
          projectId: project.id,
          name: `vol-${i}`,
          flavorId,
          volumeSizeGb: 3,
        }),
      ),
    );
    expect(fulfilled).toHaveLength(3);
    expect(rejected).toHaveLength(17);
    for (const error of rejected) {
      const cause = (error as TRPCError).cause as AppError;
      expect(cause.code).toBe('QUOTA_EXCEEDED');
      expect(cause.message).toBe(
        'Quota exceeded: this project may use at most 10 GB of volume storage; 9 GB are in use and 3 GB more were asked for.',
      );
      expect(cause.details?.fieldErrors).toEqual({ volumeSizeGb: [cause.message] });
    }
    const { _sum } = await h.prisma.instance.aggregate({
      where: { projectId: project.id },
      _sum: { volumeSizeGb: true },
    });
    expect(_sum.volumeSizeGb).toBe(9);
    // 1 GB still fits.
    expect(
      await codeOf(
        caller.instance.create({
          projectId: project.id,
          name: 'vol-small',
          flavorId,
          volumeSizeGb: 1,
        }),
      ),
    ).toBe('OK');
  });

  it('applies the default quota without an override, and an operator can override it and go back', async () => {
    const { env } = await import('~/env');
    const { owner, project } = await h.createProjectWithOwner('Defaults');
    const caller = h.callerFor(owner);
    expect(await caller.quota.get({ projectId: project.id })).toEqual({
      instances: { inUse: 0, limit: env.COFFER_QUOTA_INSTANCES, isOverride: false },
      volumeGb: { inUse: 0, limit: env.COFFER_QUOTA_VOLUME_GB, isOverride: false },
      backups: { inUse: 0, limit: env.COFFER_QUOTA_BACKUPS, isOverride: false },
    });

    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    const admin = h.callerFor(operator);
    await admin.admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: 0 });
    const flavorId = await smallestFlavorId();
    await expect(
      caller.instance.create({ projectId: project.id, name: 'blocked', flavorId, volumeSizeGb: 1 }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('at most 0 instances'),
    });
    const back = await admin.admin.setQuota({
      projectId: project.id,
      resource: 'instances',
      hardLimit: null,
    });
    expect(back.instances).toEqual({
      inUse: 0,
      limit: env.COFFER_QUOTA_INSTANCES,
      isOverride: false,
    });
    expect(
      await codeOf(
        caller.instance.create({
          projectId: project.id,
          name: 'allowed',
          flavorId,
          volumeSizeGb: 1,
        }),
      ),
    ).toBe('OK');

    const listed = (await admin.admin.projects()).find((p) => p.id === project.id);
    expect(listed?.quotas.instances).toEqual({
      inUse: 1,
      limit: env.COFFER_QUOTA_INSTANCES,
      isOverride: false,
    });
    expect(
      await codeOf(
        admin.admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: -2 }),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      await codeOf(
        admin.admin.setQuota({ projectId: randomUUID(), resource: 'instances', hardLimit: 3 }),
      ),
    ).toBe('NOT_FOUND');
    // Tenants cannot change their own quota.
    expect(
      await codeOf(
        caller.admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: 100 }),
      ),
    ).toBe('FORBIDDEN');
  });
});

describe('the backups check (for the backup insert)', () => {
  async function insertBackup(projectId: string, status: 'COMPLETED' | 'FAILED' | 'BUILDING') {
    const version = await h.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });
    await h.prisma.backup.create({
      data: {
        projectId,
        instanceId: randomUUID(),
        instanceName: 'source',
        name: `b-${randomUUID().slice(0, 6)}`,
        type: 'FULL',
        status,
        datastoreVersionId: version.id,
        storeKind: 'local',
        location: 'test',
      },
    });
  }

  it('refuses within the transaction once the backups quota is used up; failed backups do not count', async () => {
    const { assertBackupQuota } = await import('~/server/services/quota/quota');
    const { owner, project } = await h.createProjectWithOwner('Backups');
    await setQuota(project.id, 'BACKUPS', 2);
    await insertBackup(project.id, 'COMPLETED');
    await insertBackup(project.id, 'FAILED');
    await expect(
      h.prisma.$transaction((tx) => assertBackupQuota(tx, project.id)),
    ).resolves.toBeUndefined();
    await insertBackup(project.id, 'BUILDING');
    await expect(
      h.prisma.$transaction((tx) => assertBackupQuota(tx, project.id)),
    ).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      message: expect.stringContaining('at most 2 backups and has 2'),
    });
    expect((await h.callerFor(owner).quota.get({ projectId: project.id })).backups).toEqual({
      inUse: 2,
      limit: 2,
      isOverride: true,
    });
    await expect(
      h.prisma.$transaction((tx) => assertBackupQuota(tx, randomUUID())),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
