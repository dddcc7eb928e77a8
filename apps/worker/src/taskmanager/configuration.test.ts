import { randomBytes, randomUUID } from 'node:crypto';

import { configurationApplySchema, instanceCreateJobSchema } from '@coffer/contracts';
import { jobPayloadKey, sealSecret } from '@coffer/contracts/crypto';
import { registerSecret } from '@coffer/testing/secrets';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MASTER_KEY, WorkerTestContext, type CreatedInstance } from '../../test/harness';
import { tenantConnection } from '../../test/replication';

/**
 * Configuration groups through the taskmanager on real guests and mariadbd (issue 15): a
 * create with a group starts with its values; attaching (what the web app does: the row, then
 * `configuration.apply`) sets dynamic values at once on every attached instance; a group edit
 * reaches both; a static value shows RESTART_REQUIRED until the restart, after which it holds
 * and the status clears; an edit while an instance is being built reaches it once ACTIVE;
 * detach restores Coffer's defaults.
 */

const ctx = new WorkerTestContext({ name: 'configuration' });
let first: CreatedInstance;
let second: CreatedInstance;
let groupId: string;

/** The web app's create with a configuration group: the row names it, then `instance.create`. */
async function createWithGroup(group: string): Promise<CreatedInstance> {
  const password = `Pw-${randomBytes(12).toString('hex')}`;
  registerSecret('the password of app_user', password);
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `db-${randomBytes(3).toString('hex')}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 1,
      taskStatus: 'BUILDING',
      serviceStatus: 'NEW',
      configurationGroupId: group,
    },
  });
  await ctx.enqueue(
    'instance.create',
    row.id,
    instanceCreateJobSchema.parse({
      instanceId: row.id,
      databases: [{ name: 'app' }],
      users: [
        {
          name: 'app_user',
          host: '%',
          databases: ['app'],
          password: sealSecret(jobPayloadKey(MASTER_KEY), password, 'user:app_user'),
        },
      ],
    }),
  );
  return { instanceId: row.id, userName: 'app_user', password, databaseName: 'app' };
}

/** What the web app does after an attach, a detach or an edit: a fresh `configuration.apply`. */
async function apply(instanceId: string): Promise<void> {
  await ctx.enqueue('configuration.apply', `${instanceId}-${randomUUID()}`, { instanceId });
}

async function variable(tenant: CreatedInstance, name: string): Promise<string | undefined> {
  const connection = await tenantConnection(ctx, tenant.instanceId, tenant);
  try {
    const [rows] = await connection.query('SHOW GLOBAL VARIABLES LIKE ?', [name]);
    return (rows as { Value: string }[])[0]?.Value;
  } finally {
    await connection.end();
  }
}

async function lastApply(instanceId: string) {
  const row = await ctx.row(instanceId);
  const parsed = configurationApplySchema.safeParse(row?.configurationApply);
  return parsed.success ? parsed.data : null;
}

/** Until the instance's last apply is the group as it is now. */
async function waitForApplied(instanceId: string, group: string | null) {
  const updatedAt = group
    ? (await ctx.prisma.configurationGroup.findUniqueOrThrow({ where: { id: group } })).updatedAt
    : null;
  await waitFor(
    async () => {
      const last = await lastApply(instanceId);
      return (
        last !== null &&
        last.groupId === group &&
        last.groupUpdatedAt === (updatedAt?.toISOString() ?? null)
      );
    },
    { timeoutMs: 60_000, what: `the configuration applied on ${instanceId}` },
  );
  return (await lastApply(instanceId))!;
}

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker();
  const group = await ctx.prisma.configurationGroup.create({
    data: {
      projectId: ctx.projectId,
      name: 'tuned',
      datastoreVersionId: ctx.versionId,
      values: { max_connections: 55, long_query_time: 3 },
    },
  });
  groupId = group.id;
  first = await createWithGroup(groupId);
  second = await ctx.createInstance();
  await ctx.waitForActive(first.instanceId, { timeoutMs: 180_000 });
  await ctx.waitForActive(second.instanceId, { timeoutMs: 180_000 });
}, 240_000);

afterAll(() => ctx.closeLeavingNothing(), 120_000);

describe('configuration groups through the taskmanager', () => {
  it('a create with a group starts with its values', async () => {
    expect(await variable(first, 'max_connections')).toBe('55');
    expect(await variable(first, 'long_query_time')).toBe('3.000000');
    expect(await lastApply(first.instanceId)).toMatchObject({ groupId, failed: [] });
  });

  it('attach: dynamic values at once, read by the tenant with SHOW VARIABLES', async () => {
    expect(await variable(second, 'max_connections')).toBe('64');
    await ctx.prisma.instance.update({
      where: { id: second.instanceId },
      data: { configurationGroupId: groupId },
    });
    await apply(second.instanceId);
    const applied = await waitForApplied(second.instanceId, groupId);
    expect(applied).toMatchObject({ failed: [], pendingRestart: [] });
    expect(applied.applied.sort()).toEqual(['long_query_time', 'max_connections']);
    expect(await variable(second, 'max_connections')).toBe('55');
    expect(await ctx.displayStatus(second.instanceId)).toBe('ACTIVE');
  });

  it('an edit reaches both instances; a static value shows RESTART_REQUIRED until the restart', async () => {
    await ctx.prisma.configurationGroup.update({
      where: { id: groupId },
      data: { values: { max_connections: 66, long_query_time: 3, performance_schema: true } },
    });
    await apply(first.instanceId);
    await apply(second.instanceId);
    for (const tenant of [first, second]) {
      const applied = await waitForApplied(tenant.instanceId, groupId);
      expect(applied.pendingRestart).toEqual(['performance_schema']);
      expect(await variable(tenant, 'max_connections')).toBe('66');
      await waitFor(
        async () => (await ctx.displayStatus(tenant.instanceId)) === 'RESTART_REQUIRED',
        { timeoutMs: 30_000, what: 'RESTART_REQUIRED' },
      );
    }
    await ctx.restartInstance(first.instanceId);
    await ctx.waitForActive(first.instanceId, { timeoutMs: 120_000 });
    expect(await variable(first, 'performance_schema')).toBe('ON');
    expect(await variable(first, 'max_connections')).toBe('66');
    // The other one still waits for its own restart.
    expect(await ctx.displayStatus(second.instanceId)).toBe('RESTART_REQUIRED');
  });

  it('an edit while an instance is being built reaches it once it is ACTIVE', async () => {
    const group = await ctx.prisma.configurationGroup.create({
      data: {
        projectId: ctx.projectId,
        name: 'edited-while-built',
        datastoreVersionId: ctx.versionId,
        values: { max_connections: 77 },
      },
    });
    const tenant = await createWithGroup(group.id);
    // Prepare has read the group (the create records what it gave the guest)...
    await waitFor(async () => (await ctx.row(tenant.instanceId))?.configurationApply, {
      timeoutMs: 120_000,
      intervalMs: 10,
      what: 'the create to give the guest the group',
    });
    // ...and the group changes while the instance is still being built. The web app's
    // `configuration.apply` for this edit would be skipped (BUILDING): it is left out, so only
    // the create can bring the new value.
    const edited = await ctx.prisma.configurationGroup.updateMany({
      where: {
        id: group.id,
        instances: { some: { id: tenant.instanceId, taskStatus: 'BUILDING' } },
      },
      data: { values: { max_connections: 88 } },
    });
    expect(edited.count, 'the instance was still being built when the group was edited').toBe(1);
    await ctx.waitForActive(tenant.instanceId, { timeoutMs: 180_000 });
    const applied = await waitForApplied(tenant.instanceId, group.id);
    expect(applied.failed).toEqual([]);
    expect(await variable(tenant, 'max_connections')).toBe('88');
  });

  it('detach restores the defaults', async () => {
    await ctx.prisma.instance.update({
      where: { id: first.instanceId },
      data: { configurationGroupId: null },
    });
    await apply(first.instanceId);
    const applied = await waitForApplied(first.instanceId, null);
    expect(applied.reset.sort()).toEqual([
      'long_query_time',
      'max_connections',
      'performance_schema',
    ]);
    expect(await variable(first, 'max_connections')).toBe('64');
    expect(await variable(first, 'long_query_time')).toBe('10.000000');
  });
});
