import { randomUUID } from 'node:crypto';

import { TASKMANAGER_QUEUE, taskmanagerJobId } from '@coffer/contracts';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { setQuota, useHarness, useTaskmanagerQueue } from '~/test/suite';

/**
 * Resize and rename through the API (issue 13): an ACTIVE instance with no task goes RESIZING
 * with its record and one `instance.resize` job; every refusal is clear and changes nothing;
 * another project's instance is not found; the volume quota is checked as creates check it.
 */

const h = useHarness({ obliterateQueue: true });
const queue = useTaskmanagerQueue();
void TASKMANAGER_QUEUE;

async function setUp(label: string) {
  const { owner, project } = await h.createProjectWithOwner(label);
  const caller = h.callerFor(owner);
  const flavors = await h.prisma.flavor.findMany({
    where: { isDisabled: false },
    orderBy: { ramMb: 'asc' },
  });
  const [tiny, small] = flavors;
  const instance = await h.insertInstance(project.id, {
    flavorId: tiny!.id,
    volumeSizeGb: 1,
    taskStatus: 'NONE',
    serviceStatus: 'RUNNING',
    lastHeartbeatAt: new Date(),
    computeServerId: `srv-${randomUUID()}`,
  });
  return { owner, project, caller, tiny: tiny!, small: small!, instance };
}

async function rowOf(instanceId: string) {
  return h.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
}

/** The fields a refused call must leave as they were. */
function snapshot(row: Awaited<ReturnType<typeof rowOf>>) {
  return {
    name: row.name,
    flavorId: row.flavorId,
    volumeSizeGb: row.volumeSizeGb,
    taskStatus: row.taskStatus,
    resizeState: row.resizeState,
  };
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'OK';
}

describe('instance.resizeFlavor', () => {
  it('an ACTIVE instance goes RESIZE with its record (from, to) and one job; the flavor changes only when the job succeeds', async () => {
    const { project, caller, tiny, small, instance } = await setUp('Resize flavor');
    const ids = { projectId: project.id, instanceId: instance.id };
    expect((await caller.instance.get(ids)).resize).toBeNull();
    const view = await caller.instance.resizeFlavor({ ...ids, flavorId: small.id });
    expect(view.status).toBe('RESIZE');
    // The console shows what it is being resized to (no flavor ids), in every read of it.
    const target = {
      kind: 'flavor',
      from: { name: tiny.name, vcpus: tiny.vcpus, ramMb: tiny.ramMb },
      to: { name: small.name, vcpus: small.vcpus, ramMb: small.ramMb },
      startedAt: expect.any(String),
    };
    expect(view.resize).toEqual(target);
    expect((await caller.instance.get(ids)).resize).toEqual(target);
    expect((await caller.instance.list({ projectId: project.id }))[0]?.resize).toEqual(target);
    const row = await rowOf(instance.id);
    expect(row.taskStatus).toBe('RESIZING');
    expect(row.flavorId).toBe(tiny.id);
    expect(row.resizeState).toMatchObject({
      kind: 'flavor',
      from: { flavorId: tiny.id, ramMb: tiny.ramMb, vcpus: tiny.vcpus },
      to: { flavorId: small.id, ramMb: small.ramMb, vcpus: small.vcpus },
    });
    const job = await queue.getJob(taskmanagerJobId('instance.resize', instance.id));
    expect(job?.name).toBe('instance.resize');
    expect(job?.data).toEqual({ instanceId: instance.id, direction: 'forward' });

    // A second click while it runs: refused, nothing changes.
    const before = snapshot(await rowOf(instance.id));
    expect(
      await messageOf(
        caller.instance.resizeFlavor({
          projectId: project.id,
          instanceId: instance.id,
          flavorId: small.id,
        }),
      ),
    ).toMatch(/^CONFLICT: The instance cannot be resized while it is RESIZE/);
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
  });

  it('refuses clearly, changing nothing: the same flavor, a disabled or unknown one, one too small for the volume, an instance not ACTIVE', async () => {
    const { project, caller, tiny, small, instance } = await setUp('Resize refusals');
    const before = snapshot(await rowOf(instance.id));
    const resize = (flavorId: string, instanceId = instance.id) =>
      messageOf(caller.instance.resizeFlavor({ projectId: project.id, instanceId, flavorId }));

    expect(await resize(tiny.id)).toBe(`BAD_REQUEST: The instance already has flavor ${tiny.name}`);
    expect(await resize('00000000-0000-4000-8000-000000000000')).toBe(
      'BAD_REQUEST: This flavor does not exist or is no longer offered',
    );
    expect(await resize('not-a-uuid')).toMatch(/^BAD_REQUEST: [\s\S]*Choose a flavor/);
    const disabled = await h.prisma.flavor.create({
      data: {
        name: `off-${instance.id.slice(0, 6)}`,
        vcpus: 1,
        ramMb: 768,
        defaultVolumeGb: 1,
        isDisabled: true,
      },
    });
    expect(await resize(disabled.id)).toBe(
      'BAD_REQUEST: This flavor does not exist or is no longer offered',
    );
    const narrow = await h.prisma.flavor.create({
      data: {
        name: `narrow-${instance.id.slice(0, 6)}`,
        vcpus: 1,
        ramMb: 768,
        defaultVolumeGb: 1,
        maxVolumeGb: 1,
      },
    });
    await h.prisma.instance.update({ where: { id: instance.id }, data: { volumeSizeGb: 2 } });
    expect(await resize(narrow.id)).toMatch(
      /^BAD_REQUEST: Flavor narrow-.* allows volumes of at most 1 GB; this instance has 2 GB$/,
    );
    await h.prisma.instance.update({ where: { id: instance.id }, data: { volumeSizeGb: 1 } });

    const building = await h.insertInstance(project.id, { flavorId: tiny.id });
    expect(await resize(small.id, building.id)).toMatch(
      /^CONFLICT: The instance cannot be resized while it is BUILD/,
    );
    const silent = await h.insertInstance(project.id, {
      flavorId: tiny.id,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(Date.now() - 3600_000),
    });
    expect(await resize(small.id, silent.id)).toMatch(
      /^CONFLICT: The instance cannot be resized while it is SHUTDOWN/,
    );
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
    expect(await queue.getJob(taskmanagerJobId('instance.resize', instance.id))).toBeUndefined();
  });

  it("another project's instance is NOT_FOUND, and a viewer may not resize", async () => {
    const { instance, small } = await setUp('Victim');
    const before = snapshot(await rowOf(instance.id));
    const other = await h.createProjectWithOwner('Intruder');
    const intruder = h.callerFor(other.owner);
    expect(
      await codeOf(
        intruder.instance.resizeFlavor({
          projectId: other.project.id,
          instanceId: instance.id,
          flavorId: small.id,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        intruder.instance.resizeVolume({
          projectId: other.project.id,
          instanceId: instance.id,
          volumeGb: 5,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        intruder.instance.rename({
          projectId: other.project.id,
          instanceId: instance.id,
          name: 'mine',
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
  });
});

describe('instance.resizeVolume', () => {
  it('grows: RESIZE, the new size recorded (and counted by the quota) at once, one job', async () => {
    const { project, caller, instance } = await setUp('Grow');
    const view = await caller.instance.resizeVolume({
      projectId: project.id,
      instanceId: instance.id,
      volumeGb: 3,
    });
    expect(view.status).toBe('RESIZE');
    expect(view.volumeSizeGb).toBe(3);
    expect(view.resize).toEqual({
      kind: 'volume',
      fromGb: 1,
      toGb: 3,
      startedAt: expect.any(String),
    });
    expect((await rowOf(instance.id)).resizeState).toMatchObject({
      kind: 'volume',
      fromGb: 1,
      toGb: 3,
    });
    expect(await caller.quota.get({ projectId: project.id })).toMatchObject({
      volumeGb: { inUse: 3 },
    });
    expect(await queue.getJob(taskmanagerJobId('instance.resize', instance.id))).toBeDefined();
  });

  it('refuses a shrink, the same size, a size beyond the flavor, bad input: clear errors on the field, nothing changes', async () => {
    const { project, caller, instance } = await setUp('Shrink');
    const capped = await h.prisma.flavor.create({
      data: {
        name: `capped-${instance.id.slice(0, 6)}`,
        vcpus: 1,
        ramMb: 640,
        defaultVolumeGb: 1,
        maxVolumeGb: 10,
      },
    });
    await h.prisma.instance.update({
      where: { id: instance.id },
      data: { volumeSizeGb: 4, flavorId: capped.id },
    });
    const before = snapshot(await rowOf(instance.id));
    const grow = (volumeGb: unknown) =>
      messageOf(
        caller.instance.resizeVolume({
          projectId: project.id,
          instanceId: instance.id,
          volumeGb: volumeGb as number,
        }),
      );
    expect(await grow(2)).toBe('BAD_REQUEST: A volume only grows: 4 GB cannot become 2 GB');
    expect(await grow(4)).toBe('BAD_REQUEST: The volume is already 4 GB');
    expect(await grow(11)).toBe(
      `BAD_REQUEST: Flavor ${capped.name} allows volumes of at most 10 GB`,
    );
    expect(await grow(100_000)).toMatch(/^BAD_REQUEST: [\s\S]*at most 16384 GB/);
    expect(await grow(2.5)).toMatch(/^BAD_REQUEST: [\s\S]*whole number of GB/);
    expect(await grow(0)).toMatch(/^BAD_REQUEST: [\s\S]*at least 1 GB/);
    expect(await grow('5')).toMatch(/^BAD_REQUEST: /);
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
    expect(await queue.getJob(taskmanagerJobId('instance.resize', instance.id))).toBeUndefined();
  });

  it('checks the volume quota: a growth past it is QUOTA_EXCEEDED on the field, and nothing changes', async () => {
    const { project, caller, instance } = await setUp('Volume quota');
    await setQuota(h, project.id, 'VOLUME_GB', 5);
    await h.insertInstance(project.id, { volumeSizeGb: 2 });
    const before = snapshot(await rowOf(instance.id));
    let error: unknown;
    try {
      await caller.instance.resizeVolume({
        projectId: project.id,
        instanceId: instance.id,
        volumeGb: 4,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('FORBIDDEN');
    expect((error as TRPCError).message).toBe(
      'Quota exceeded: this project may use at most 5 GB of volume storage; 3 GB are in use and 3 GB more were asked for.',
    );
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
    // Within it: accepted.
    expect(
      await codeOf(
        caller.instance.resizeVolume({
          projectId: project.id,
          instanceId: instance.id,
          volumeGb: 3,
        }),
      ),
    ).toBe('OK');
  });

  it('concurrent growths of two instances against the quota: only what fits passes', async () => {
    const { project, caller, instance, tiny } = await setUp('Volume race');
    await setQuota(h, project.id, 'VOLUME_GB', 6);
    const second = await h.insertInstance(project.id, {
      flavorId: tiny.id,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    });
    // 2 GB in use; each asks for 3 more: only one fits.
    const results = await Promise.all(
      [instance.id, second.id].map((instanceId) =>
        codeOf(caller.instance.resizeVolume({ projectId: project.id, instanceId, volumeGb: 4 })),
      ),
    );
    expect(results.sort()).toEqual(['FORBIDDEN', 'OK']);
    expect(await caller.quota.get({ projectId: project.id })).toMatchObject({
      volumeGb: { inUse: 5 },
    });
  });

  it('with includeReplicas, grows the ACTIVE replicas too (their own resize each); a replica not ACTIVE refuses the whole', async () => {
    const { project, caller, instance, tiny } = await setUp('Replicas');
    const replica = await h.insertInstance(project.id, {
      flavorId: tiny.id,
      replicaOfId: instance.id,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    });
    await caller.instance.resizeVolume({
      projectId: project.id,
      instanceId: instance.id,
      volumeGb: 2,
      includeReplicas: true,
    });
    expect((await rowOf(replica.id)).taskStatus).toBe('RESIZING');
    expect((await rowOf(replica.id)).volumeSizeGb).toBe(2);
    expect(await queue.getJob(taskmanagerJobId('instance.resize', replica.id))).toBeDefined();

    await h.prisma.instance.updateMany({
      where: { id: { in: [instance.id, replica.id] } },
      data: { taskStatus: 'NONE', resizeState: undefined },
    });
    await h.prisma.instance.update({
      where: { id: replica.id },
      data: { serviceStatus: 'SHUTDOWN' },
    });
    const before = snapshot(await rowOf(instance.id));
    expect(
      await messageOf(
        caller.instance.resizeVolume({
          projectId: project.id,
          instanceId: instance.id,
          volumeGb: 3,
          includeReplicas: true,
        }),
      ),
    ).toMatch(/^CONFLICT: Replica .* cannot be resized while it is SHUTDOWN/);
    expect(snapshot(await rowOf(instance.id))).toEqual(before);
  });
});

describe('instance.rename', () => {
  it('renames; a name taken in the project is CONFLICT on the field; bad names are refused as at create', async () => {
    const { project, caller, instance } = await setUp('Rename');
    const taken = await h.insertInstance(project.id, { name: 'taken-name' });
    expect(
      (
        await caller.instance.rename({
          projectId: project.id,
          instanceId: instance.id,
          name: 'orders-db',
        })
      ).name,
    ).toBe('orders-db');
    expect((await rowOf(instance.id)).name).toBe('orders-db');
    expect(
      await messageOf(
        caller.instance.rename({
          projectId: project.id,
          instanceId: instance.id,
          name: taken.name,
        }),
      ),
    ).toBe('CONFLICT: An instance with this name already exists in the project');
    for (const name of ['', ' ', '-lead', 'has space', 'x'.repeat(300), 'semi;colon']) {
      expect(
        await codeOf(
          caller.instance.rename({ projectId: project.id, instanceId: instance.id, name }),
        ),
      ).toBe('BAD_REQUEST');
    }
    expect((await rowOf(instance.id)).name).toBe('orders-db');
    // The same name in another project is fine.
    const other = await setUp('Rename elsewhere');
    expect(
      await codeOf(
        other.caller.instance.rename({
          projectId: other.project.id,
          instanceId: other.instance.id,
          name: 'orders-db',
        }),
      ),
    ).toBe('OK');
  });
});

describe('instance.rename after a promote', () => {
  it("renames a promoted replica and its old source (the names followed their roles before), each audited; another project's is NOT_FOUND", async () => {
    const { owner, project, caller, instance: promoted } = await setUp('Rename after promote');
    // After a promote: the source is the one called "…-replica", its replica the other.
    await h.prisma.instance.update({
      where: { id: promoted.id },
      data: { name: 'orders-replica' },
    });
    const old = await h.insertInstance(project.id, {
      name: 'orders',
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
      replicaOfId: promoted.id,
      replicationState: 'REPLICATING',
    });
    const ids = (instanceId: string) => ({ projectId: project.id, instanceId });
    await caller.instance.rename({ ...ids(old.id), name: 'orders-old-source' });
    const source = await caller.instance.rename({ ...ids(promoted.id), name: 'orders' });
    expect(source.name).toBe('orders');
    expect(source.replication.role).toBe('SOURCE');
    const replica = await caller.instance.get(ids(old.id));
    expect(replica.name).toBe('orders-old-source');
    expect(replica.replication).toMatchObject({ role: 'REPLICA', source: { name: 'orders' } });
    const audited = await h.prisma.auditEvent.findMany({
      where: { projectId: project.id, path: 'instance.rename' },
      orderBy: { createdAt: 'asc' },
      select: { resourceId: true, result: true, userId: true },
    });
    expect(audited).toEqual([
      { resourceId: old.id, result: 'OK', userId: owner.id },
      { resourceId: promoted.id, result: 'OK', userId: owner.id },
    ]);
    const stranger = await setUp('Rename stranger');
    expect(
      await codeOf(stranger.caller.instance.rename({ ...ids(old.id), name: 'mine-now' })),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        stranger.caller.instance.rename({
          projectId: stranger.project.id,
          instanceId: old.id,
          name: 'mine-now',
        }),
      ),
    ).toBe('NOT_FOUND');
    expect((await rowOf(old.id)).name).toBe('orders-old-source');
  });
});

describe('admin flavors', () => {
  it('operators list, create, edit and disable flavors; tenants may not; a disabled flavor is no longer offered', async () => {
    const { owner } = await h.createProjectWithOwner('Flavor admin');
    const operatorUser = await h.createUser('operator');
    await h.makeOperator(operatorUser.id);
    const admin = h.callerFor(operatorUser);
    const tenant = h.callerFor(owner);

    expect(await codeOf(tenant.admin.flavors())).toBe('FORBIDDEN');
    const created = await admin.admin.createFlavor({
      name: 'r1.custom',
      vcpus: 2,
      ramMb: 1536,
      defaultVolumeGb: 3,
      maxVolumeGb: 30,
    });
    expect(created).toMatchObject({
      name: 'r1.custom',
      maxVolumeGb: 30,
      isDisabled: false,
      instanceCount: 0,
    });
    expect(
      await messageOf(
        admin.admin.createFlavor({
          name: 'r1.custom',
          vcpus: 1,
          ramMb: 512,
          defaultVolumeGb: 1,
          maxVolumeGb: 5,
        }),
      ),
    ).toBe('CONFLICT: A flavor with this name already exists');
    expect(
      await codeOf(
        admin.admin.createFlavor({
          name: 'r1.bad',
          vcpus: 0,
          ramMb: 512,
          defaultVolumeGb: 1,
          maxVolumeGb: 5,
        }),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      await messageOf(
        admin.admin.createFlavor({
          name: 'r1.bad',
          vcpus: 1,
          ramMb: 512,
          defaultVolumeGb: 9,
          maxVolumeGb: 5,
        }),
      ),
    ).toMatch(/The default volume must not be larger than the maximum/);
    expect(
      await messageOf(admin.admin.updateFlavor({ flavorId: created.id, maxVolumeGb: 2 })),
    ).toBe('BAD_REQUEST: The default volume (3 GB) must not be larger than the maximum (2 GB)');

    const edited = await admin.admin.updateFlavor({
      flavorId: created.id,
      ramMb: 3072,
      maxVolumeGb: 40,
    });
    expect(edited).toMatchObject({ ramMb: 3072, maxVolumeGb: 40, vcpus: 2 });
    expect((await tenant.catalog.flavors()).map((f) => f.name)).toContain('r1.custom');
    await admin.admin.updateFlavor({ flavorId: created.id, isDisabled: true });
    expect((await tenant.catalog.flavors()).map((f) => f.name)).not.toContain('r1.custom');
    expect((await admin.admin.flavors()).find((f) => f.id === created.id)?.isDisabled).toBe(true);
    expect(
      await codeOf(tenant.admin.updateFlavor({ flavorId: created.id, isDisabled: false })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        admin.admin.updateFlavor({ flavorId: '00000000-0000-4000-8000-000000000000', vcpus: 2 }),
      ),
    ).toBe('NOT_FOUND');
  });
});
