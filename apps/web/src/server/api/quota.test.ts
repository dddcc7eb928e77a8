import { randomUUID } from 'node:crypto';

import { AppError } from '@coffer/contracts';
import { createBackupRow } from '@coffer/db/factories';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { setQuota, smallestFlavorId, useHarness } from '~/test/suite';

/**
 * Quotas are checked in the insert's transaction under a lock on the project: concurrent
 * creates cannot pass them together. Operators override them; the console shows the usage.
 */

const h = useHarness({ obliterateQueue: true });

/**
 * A project with an owner and the quota overrides given (in their order), and `create`: the
 * owner's create of an instance there, on the smallest flavor.
 */
async function projectWithQuotas(
  name: string,
  quotas: Partial<Record<'INSTANCES' | 'VOLUME_GB' | 'BACKUPS', number>> = {},
) {
  const { owner, project } = await h.createProjectWithOwner(name);
  for (const [resource, hardLimit] of Object.entries(quotas))
    await setQuota(h, project.id, resource as keyof typeof quotas, hardLimit);
  const caller = h.callerFor(owner);
  const flavorId = await smallestFlavorId(h);
  const create = (instanceName: string, volumeSizeGb = 1) =>
    caller.instance.create({ projectId: project.id, name: instanceName, flavorId, volumeSizeGb });
  return { project, caller, create };
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
    const { project, caller, create } = await projectWithQuotas('Quota 5', { INSTANCES: 5 });

    const { fulfilled, rejected } = await settle(
      Array.from({ length: 20 }, (_, i) => create(`db-${i}`)),
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
    expect(await codeOf(create('db-extra'))).toBe('FORBIDDEN');
    const other = await projectWithQuotas('Unaffected');
    expect(await codeOf(other.create('db'))).toBe('OK');
  });

  it('20 concurrent creates of 3 GB against a volume quota of 10 GB: exactly 3 succeed, the rest name the volume field', async () => {
    const { project, create } = await projectWithQuotas('Volume 10', {
      INSTANCES: -1,
      VOLUME_GB: 10,
    });

    const { fulfilled, rejected } = await settle(
      Array.from({ length: 20 }, (_, i) => create(`vol-${i}`, 3)),
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
    expect(await codeOf(create('vol-small'))).toBe('OK');
  });

  it('applies the default quota without an override, and an operator can override it and go back', async () => {
    const { env } = await import('~/env');
    const { project, caller, create } = await projectWithQuotas('Defaults');
    expect(await caller.quota.get({ projectId: project.id })).toEqual({
      instances: { inUse: 0, limit: env.COFFER_QUOTA_INSTANCES, isOverride: false },
      volumeGb: { inUse: 0, limit: env.COFFER_QUOTA_VOLUME_GB, isOverride: false },
      backups: { inUse: 0, limit: env.COFFER_QUOTA_BACKUPS, isOverride: false },
    });

    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    const admin = h.callerFor(operator);
    await admin.admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: 0 });
    await expect(create('blocked')).rejects.toMatchObject({
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
    expect(await codeOf(create('allowed'))).toBe('OK');

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
    const source = { id: randomUUID(), projectId, name: 'source', datastoreVersionId: version.id };
    await createBackupRow(h.prisma, source, { status });
  }

  it('refuses within the transaction once the backups quota is used up; failed backups do not count', async () => {
    const { assertBackupQuota } = await import('~/server/services/quota/quota');
    const { owner, project } = await h.createProjectWithOwner('Backups');
    await setQuota(h, project.id, 'BACKUPS', 2);
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
