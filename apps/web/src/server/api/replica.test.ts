import { taskmanagerJobId } from '@coffer/contracts';
import { beforeAll, describe, expect, it } from 'vitest';

import { fieldErrorsOf } from '~/server/errors';
import { codeOf } from '~/test/callers';
import { useHarness, useTaskmanagerQueue } from '~/test/suite';

/**
 * The replication procedures without a worker (the worker's tests run replicas for real, and
 * the e2e test clicks through them): what each checks and writes before the taskmanager takes
 * over, tenant isolation (another project's instances are "not found" to every procedure) and
 * viewers (who read replicas but change nothing).
 */

const h = useHarness();
const queue = useTaskmanagerQueue({ obliterate: true });

type Seeded = Awaited<ReturnType<typeof setUpProject>>;

/** A project with an owner, a viewer, and a source with one replica (rows as the worker leaves them: ACTIVE). */
async function setUpProject(name: string) {
  const { owner, project } = await h.createProjectWithOwner(name);
  const viewer = await h.createUser('viewer');
  await h.addMembership(project.id, viewer.id, 'VIEWER');
  const flavor = await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const version = await h.prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const addInstance = (
    label: string,
    data: {
      replicaOfId?: string;
      serviceStatus?: 'RUNNING' | 'SHUTDOWN';
      lastHeartbeatAt?: Date | null;
    } = {},
  ) =>
    h.prisma.instance.create({
      data: {
        projectId: project.id,
        name: `${name.toLowerCase()}-${label}`,
        flavorId: flavor.id,
        datastoreVersionId: version.id,
        volumeSizeGb: 2,
        taskStatus: 'NONE',
        serviceStatus: data.serviceStatus ?? 'RUNNING',
        lastHeartbeatAt: data.lastHeartbeatAt === undefined ? new Date() : data.lastHeartbeatAt,
        replicaOfId: data.replicaOfId ?? null,
        ...(data.replicaOfId
          ? { replicationState: 'REPLICATING' as const, replicationLagSeconds: 0 }
          : {}),
      },
    });
  const source = await addInstance('source');
  const replica = await addInstance('replica', { replicaOfId: source.id });
  return {
    project,
    owner: h.callerFor(owner),
    viewer: h.callerFor(viewer),
    source,
    replica,
    addInstance,
  };
}

async function tasksOf(...ids: string[]): Promise<string[]> {
  const rows = await h.prisma.instance.findMany({
    where: { id: { in: ids } },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((row) => row.taskStatus);
}

async function jobNames(): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  return jobs.map((job) => job.name).sort();
}

async function clearJobs(): Promise<void> {
  await queue.obliterate({ force: true });
}

describe('replication procedures: tenancy and viewers', () => {
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    a = await setUpProject('Alpha');
    b = await setUpProject('Beta');
  });

  it("another project's instances are not found to every procedure, and nothing changes", async () => {
    const own = { projectId: b.project.id };
    expect(await codeOf(b.owner.replica.create({ ...own, sourceInstanceId: a.source.id }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(b.owner.replica.promote({ ...own, instanceId: a.replica.id }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(b.owner.replica.eject({ ...own, instanceId: a.source.id }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(b.owner.replica.detach({ ...own, instanceId: a.replica.id }))).toBe(
      'NOT_FOUND',
    );
    // Naming the other project itself: not a member.
    const theirs = { projectId: a.project.id };
    expect(await codeOf(b.owner.replica.create({ ...theirs, sourceInstanceId: a.source.id }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(b.owner.replica.detach({ ...theirs, instanceId: a.replica.id }))).toBe(
      'NOT_FOUND',
    );
    // The other project's instances are not listed as replicas of ours either.
    const listed = await b.owner.instance.list(own);
    expect(listed.map((instance) => instance.id).sort()).toEqual(
      [b.source.id, b.replica.id].sort(),
    );
    expect(await tasksOf(a.source.id, a.replica.id)).toEqual(['NONE', 'NONE']);
    expect(await jobNames()).toEqual([]);
  });

  it('viewers see the replication set but cannot change it', async () => {
    const at = { projectId: a.project.id };
    const source = await a.viewer.instance.get({ ...at, instanceId: a.source.id });
    const replica = await a.viewer.instance.get({ ...at, instanceId: a.replica.id });
    expect(source.replication).toMatchObject({
      role: 'SOURCE',
      replicaCount: 1,
      source: null,
      state: null,
    });
    expect(replica.replication).toMatchObject({
      role: 'REPLICA',
      source: { id: a.source.id, name: 'alpha-source' },
      state: 'REPLICATING',
      lagSeconds: 0,
      strategy: 'GTID',
    });
    expect(await codeOf(a.viewer.replica.create({ ...at, sourceInstanceId: a.source.id }))).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(a.viewer.replica.promote({ ...at, instanceId: a.replica.id }))).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(a.viewer.replica.eject({ ...at, instanceId: a.source.id }))).toBe(
      'FORBIDDEN',
    );
    expect(await codeOf(a.viewer.replica.detach({ ...at, instanceId: a.replica.id }))).toBe(
      'FORBIDDEN',
    );
    expect(await tasksOf(a.source.id, a.replica.id)).toEqual(['NONE', 'NONE']);
    expect(await jobNames()).toEqual([]);
  });
});

describe('replication procedures: what they check and start', () => {
  it('creates replicas: the snapshot, the rows, the jobs, in one go; refuses a replica of a replica and a busy source', async () => {
    const p = await setUpProject('Gamma');
    const at = { projectId: p.project.id };
    const created = await p.owner.replica.create({
      ...at,
      sourceInstanceId: p.source.id,
      count: 2,
    });
    expect(created.map((instance) => instance.name)).toEqual([
      'gamma-source-replica-1',
      'gamma-source-replica-2',
    ]);
    for (const instance of created) {
      expect(instance.status).toBe('BUILD');
      expect(instance.replication).toMatchObject({ role: 'REPLICA', source: { id: p.source.id } });
      expect(instance.volumeSizeGb).toBe(2);
    }
    const snapshot = await h.prisma.backup.findFirstOrThrow({ where: { instanceId: p.source.id } });
    expect(snapshot).toMatchObject({ type: 'FULL', status: 'NEW' });
    expect(snapshot.name).toMatch(/^replica snapshot of gamma-source/);
    expect(created.every((instance) => instance.restoredFromBackupId === snapshot.id)).toBe(true);
    expect((await p.owner.instance.get({ ...at, instanceId: p.source.id })).status).toBe('BACKUP');
    expect(await jobNames()).toEqual(['backup.create', 'instance.create', 'instance.create']);
    expect(await queue.getJob(taskmanagerJobId('backup.create', snapshot.id))).toBeDefined();
    // The snapshot cannot be deleted while the replicas are built from it.
    await h.prisma.backup.update({ where: { id: snapshot.id }, data: { status: 'COMPLETED' } });
    expect(await codeOf(p.owner.backup.delete({ ...at, backupId: snapshot.id }))).toBe('CONFLICT');
    await clearJobs();

    // The source is busy now; a replica cannot have replicas; the source cannot be deleted.
    expect(await codeOf(p.owner.replica.create({ ...at, sourceInstanceId: p.source.id }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(p.owner.replica.create({ ...at, sourceInstanceId: p.replica.id }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(p.owner.instance.delete({ ...at, instanceId: p.source.id }))).toBe(
      'CONFLICT',
    );
    expect(await jobNames()).toEqual([]);
  });

  it('counts replicas against the quota, and refuses a name that is taken, on the right field', async () => {
    const p = await setUpProject('Delta');
    const at = { projectId: p.project.id };
    await h.prisma.quota.create({
      data: { projectId: p.project.id, resource: 'INSTANCES', hardLimit: 3 },
    });
    const quota = await p.owner.replica
      .create({ ...at, sourceInstanceId: p.source.id, count: 2 })
      .catch((error: unknown) => error);
    expect((quota as { code?: string }).code).toBe('FORBIDDEN');
    expect(fieldErrorsOf((quota as { cause?: unknown }).cause)).toHaveProperty('count');
    const named = await p.owner.replica
      .create({ ...at, sourceInstanceId: p.source.id, name: 'delta-replica' })
      .catch((error: unknown) => error);
    expect((named as { code?: string }).code).toBe('CONFLICT');
    expect(fieldErrorsOf((named as { cause?: unknown }).cause)).toEqual({
      name: ['An instance with this name already exists in the project'],
    });
    expect(await h.prisma.backup.count({ where: { projectId: p.project.id } })).toBe(0);
    expect(await tasksOf(p.source.id)).toEqual(['NONE']);
    expect(await jobNames()).toEqual([]);
  });

  it("counts the snapshot against the backups quota, as any backup (Trove's Backup.create)", async () => {
    const p = await setUpProject('Theta');
    const at = { projectId: p.project.id };
    await h.prisma.quota.create({
      data: { projectId: p.project.id, resource: 'BACKUPS', hardLimit: 0 },
    });
    const refused = await p.owner.replica
      .create({ ...at, sourceInstanceId: p.source.id })
      .catch((error: unknown) => error);
    expect((refused as { code?: string }).code).toBe('FORBIDDEN');
    expect((refused as Error).message).toMatch(
      /^Quota exceeded: this project may keep at most 0 backups/,
    );
    expect(await h.prisma.backup.count({ where: { projectId: p.project.id } })).toBe(0);
    expect(await h.prisma.instance.count({ where: { projectId: p.project.id } })).toBe(2);
    expect(await tasksOf(p.source.id)).toEqual(['NONE']);
    expect(await jobNames()).toEqual([]);
  });

  it('promotes: the replica, its source and its siblings become PROMOTING; not a standalone, not over a dead source, not with a broken sibling', async () => {
    const p = await setUpProject('Epsilon');
    const at = { projectId: p.project.id };
    const sibling = await p.addInstance('sibling', { replicaOfId: p.source.id });
    const standalone = await p.addInstance('alone');
    expect(await codeOf(p.owner.replica.promote({ ...at, instanceId: standalone.id }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(p.owner.replica.promote({ ...at, instanceId: p.source.id }))).toBe(
      'CONFLICT',
    );
    await h.prisma.instance.update({
      where: { id: sibling.id },
      data: { replicationState: 'BROKEN', replicationError: 'SQL thread stopped (error 1062)' },
    });
    expect(await codeOf(p.owner.replica.promote({ ...at, instanceId: p.replica.id }))).toBe(
      'CONFLICT',
    );
    await h.prisma.instance.update({
      where: { id: sibling.id },
      data: { replicationState: 'REPLICATING', replicationError: null },
    });
    await h.prisma.instance.update({
      where: { id: p.source.id },
      data: { lastHeartbeatAt: new Date(Date.now() - 3_600_000) },
    });
    expect(await codeOf(p.owner.replica.promote({ ...at, instanceId: p.replica.id }))).toBe(
      'CONFLICT',
    );
    await h.prisma.instance.update({
      where: { id: p.source.id },
      data: { lastHeartbeatAt: new Date() },
    });
    expect(await jobNames()).toEqual([]);

    const promoted = await p.owner.replica.promote({ ...at, instanceId: p.replica.id });
    expect(promoted.status).toBe('PROMOTE');
    expect(await tasksOf(p.source.id, p.replica.id, sibling.id)).toEqual([
      'PROMOTING',
      'PROMOTING',
      'PROMOTING',
    ]);
    expect(await queue.getJob(taskmanagerJobId('replica.promote', p.replica.id))).toBeDefined();
    // Twice is once.
    expect(await codeOf(p.owner.replica.promote({ ...at, instanceId: p.replica.id }))).toBe(
      'CONFLICT',
    );
    expect(await jobNames()).toEqual(['replica.promote']);
    await clearJobs();
  });

  it('ejects only a source that is gone, and detaches only a replica', async () => {
    const p = await setUpProject('Zeta');
    const at = { projectId: p.project.id };
    expect(await codeOf(p.owner.replica.eject({ ...at, instanceId: p.source.id }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(p.owner.replica.eject({ ...at, instanceId: p.replica.id }))).toBe(
      'CONFLICT',
    );
    expect(await codeOf(p.owner.replica.detach({ ...at, instanceId: p.source.id }))).toBe(
      'CONFLICT',
    );
    await h.prisma.instance.update({
      where: { id: p.source.id },
      data: { lastHeartbeatAt: new Date(Date.now() - 3_600_000) },
    });
    const ejected = await p.owner.replica.eject({ ...at, instanceId: p.source.id });
    expect(ejected.status).toBe('EJECT');
    expect(await tasksOf(p.source.id, p.replica.id)).toEqual(['EJECTING', 'EJECTING']);
    expect(await jobNames()).toEqual(['replica.eject']);
    await clearJobs();

    const q = await setUpProject('Eta');
    const detached = await q.owner.replica.detach({
      projectId: q.project.id,
      instanceId: q.replica.id,
    });
    expect(detached.status).toBe('DETACH');
    expect(await tasksOf(q.source.id, q.replica.id)).toEqual(['NONE', 'DETACHING']);
    expect(await jobNames()).toEqual(['replica.detach']);
    await clearJobs();
  });
});
