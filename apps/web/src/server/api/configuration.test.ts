import { type TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { useHarness, useTaskmanagerQueue } from '~/test/suite';

/**
 * Configuration groups through the API (issue 15), without a worker: values checked against
 * the version's catalogue (errors name parameter and rule), tenancy (another project's group
 * is NOT_FOUND everywhere), attach at create and later, delete refused while attached, and
 * every change that reaches instances queues `configuration.apply` for each.
 */

const h = useHarness({ obliterateQueue: true });
const queue = useTaskmanagerQueue();

async function applyJobsFor(instanceId: string): Promise<number> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  return jobs.filter(
    (job) =>
      job.name === 'configuration.apply' &&
      (job.data as { instanceId: string }).instanceId === instanceId,
  ).length;
}

const codeOf = (error: unknown) => (error as TRPCError).code;

describe('configuration groups', () => {
  it('create, list, get, edit, attach, detach, delete; errors name the parameter and the rule', async () => {
    const { owner, project } = await h.createProjectWithOwner('Tuning');
    const caller = h.callerFor(owner);
    const version = await h.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });

    const parameters = await caller.configuration.parameters({
      projectId: project.id,
      datastoreVersionId: version.id,
    });
    expect(parameters.find((p) => p.name === 'max_connections')).toMatchObject({
      type: 'integer',
      dynamic: true,
      max: '100000',
    });
    expect(parameters.some((p) => p.name === 'skip_grant_tables')).toBe(false);

    const refused = await caller.configuration
      .create({
        projectId: project.id,
        name: 'bad',
        datastoreVersionId: version.id,
        values: { max_connections: 100_001, skip_grant_tables: true, sql_mode: 'A\nB' },
      })
      .catch((error: unknown) => error);
    expect(codeOf(refused)).toBe('BAD_REQUEST');
    expect((refused as Error).message).toContain(
      'max_connections: 100001 is above the maximum of 100000',
    );
    expect((refused as Error).message).toContain('skip_grant_tables: cannot be set');
    expect(await h.prisma.configurationGroup.count({ where: { projectId: project.id } })).toBe(0);

    const group = await caller.configuration.create({
      projectId: project.id,
      name: 'tuned',
      description: 'more connections',
      datastoreVersionId: version.id,
      values: { 'max-connections': '200', slow_query_log: 'ON' },
    });
    expect(group).toMatchObject({
      name: 'tuned',
      datastore: 'mariadb',
      values: { max_connections: 200, slow_query_log: true },
      instances: [],
    });
    const duplicate = await caller.configuration
      .create({ projectId: project.id, name: 'tuned', datastoreVersionId: version.id, values: {} })
      .catch((error: unknown) => error);
    expect(codeOf(duplicate)).toBe('CONFLICT');
    expect(await caller.configuration.list({ projectId: project.id })).toHaveLength(1);

    // Attach at create.
    const flavor = (await caller.catalog.flavors())[0]!;
    const created = await caller.instance.create({
      projectId: project.id,
      name: 'with-group',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      configurationGroupId: group.id,
    });
    expect(
      (await h.prisma.instance.findUniqueOrThrow({ where: { id: created.id } }))
        .configurationGroupId,
    ).toBe(group.id);

    // Attach later, and an edit queues an apply for each attached instance.
    const later = await h.insertInstance(project.id, {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
    });
    const attached = await caller.configuration.attach({
      projectId: project.id,
      instanceId: later.id,
      groupId: group.id,
    });
    expect(attached).toMatchObject({ group: { id: group.id }, isApplyPending: true });
    expect(await applyJobsFor(later.id)).toBe(1);
    const edited = await caller.configuration.update({
      projectId: project.id,
      id: group.id,
      values: { max_connections: 300 },
    });
    expect(edited.values).toEqual({ max_connections: 300 });
    expect(edited.instances.map((instance) => instance.id).sort()).toEqual(
      [created.id, later.id].sort(),
    );
    expect(await applyJobsFor(later.id)).toBe(2);
    expect(await applyJobsFor(created.id)).toBe(1);
    const badEdit = await caller.configuration
      .update({ projectId: project.id, id: group.id, values: { max_connections: 1 } })
      .catch((error: unknown) => error);
    expect((badEdit as Error).message).toBe('max_connections: 1 is below the minimum of 10');

    // Delete refused while attached; detach, then it goes.
    const inUse = await caller.configuration
      .delete({ projectId: project.id, id: group.id })
      .catch((error: unknown) => error);
    expect(codeOf(inUse)).toBe('CONFLICT');
    await caller.configuration.detach({ projectId: project.id, instanceId: later.id });
    await caller.configuration.detach({ projectId: project.id, instanceId: created.id });
    expect(await applyJobsFor(later.id)).toBe(3);
    expect(
      await caller.configuration.instance({ projectId: project.id, instanceId: later.id }),
    ).toMatchObject({ group: null });
    await caller.configuration.delete({ projectId: project.id, id: group.id });
    expect(await caller.configuration.list({ projectId: project.id })).toEqual([]);
  });

  it("another project's group is NOT_FOUND: get, edit, delete, attach, create with it", async () => {
    const mine = await h.createProjectWithOwner('Mine');
    const theirs = await h.createProjectWithOwner('Theirs');
    const version = await h.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });
    const theirGroup = await h.callerFor(theirs.owner).configuration.create({
      projectId: theirs.project.id,
      name: 'secret-tuning',
      datastoreVersionId: version.id,
      values: { max_connections: 500 },
    });
    const caller = h.callerFor(mine.owner);
    const projectId = mine.project.id;
    const instance = await h.insertInstance(projectId, { taskStatus: 'NONE' });
    const flavor = (await caller.catalog.flavors())[0]!;
    const attempts: (() => Promise<unknown>)[] = [
      () => caller.configuration.get({ projectId, id: theirGroup.id }),
      () => caller.configuration.update({ projectId, id: theirGroup.id, values: {} }),
      () => caller.configuration.delete({ projectId, id: theirGroup.id }),
      () =>
        caller.configuration.attach({ projectId, instanceId: instance.id, groupId: theirGroup.id }),
      () =>
        caller.instance.create({
          projectId,
          name: 'sneaky',
          flavorId: flavor.id,
          volumeSizeGb: 1,
          configurationGroupId: theirGroup.id,
        }),
    ];
    for (const attempt of attempts) {
      expect(codeOf(await attempt().catch((error: unknown) => error))).toBe('NOT_FOUND');
    }
    expect(await caller.configuration.list({ projectId })).toEqual([]);
    expect(
      (await h.prisma.instance.findUniqueOrThrow({ where: { id: instance.id } }))
        .configurationGroupId,
    ).toBeNull();
    expect(
      (await h.prisma.configurationGroup.findUniqueOrThrow({ where: { id: theirGroup.id } }))
        .values,
    ).toEqual({ max_connections: 500 });
  });

  it("replicas follow their source's group unless given their own", async () => {
    const { owner, project } = await h.createProjectWithOwner('Replicated');
    const caller = h.callerFor(owner);
    const version = await h.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });
    const make = (name: string) =>
      caller.configuration.create({
        projectId: project.id,
        name,
        datastoreVersionId: version.id,
        values: { max_connections: 150 },
      });
    const sourceGroup = await make('source-tuning');
    const replicaGroup = await make('replica-tuning');
    const source = await h.insertInstance(project.id, {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
      configurationGroupId: sourceGroup.id,
    });
    const [following] = await caller.replica.create({
      projectId: project.id,
      sourceInstanceId: source.id,
      name: 'following',
    });
    await h.prisma.instance.update({ where: { id: source.id }, data: { taskStatus: 'NONE' } });
    const [own] = await caller.replica.create({
      projectId: project.id,
      sourceInstanceId: source.id,
      name: 'own',
      configurationGroupId: replicaGroup.id,
    });
    const groupOf = async (id: string) =>
      (await h.prisma.instance.findUniqueOrThrow({ where: { id } })).configurationGroupId;
    expect(await groupOf(following!.id)).toBe(sourceGroup.id);
    expect(await groupOf(own!.id)).toBe(replicaGroup.id);
  });
});
