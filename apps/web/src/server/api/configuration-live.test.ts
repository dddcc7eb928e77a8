import { randomUUID } from 'node:crypto';

import { waitFor } from '@coffer/testing/wait';
import { type RunningWorker } from '@coffer/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Harness } from '~/test/harness';
import { waitForStatus } from '~/test/live';
import { endTestWorkerFile, startTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * Configuration groups through the API with a real worker, guest and mariadbd (issue 15): a
 * create with a group runs with its values; the effective configuration names each value's
 * source; an edit with a static value shows RESTART_REQUIRED (and which value waits) until
 * the restart; a group made from the instance holds its values; detach restores Coffer's.
 */

let worker: RunningWorker;
const suffix = randomUUID().slice(0, 8);
const queuePrefix = `test-cfg-${suffix}`;
const dataDir = testDataDir('web-cfg');
const h = useHarness({ env: { COFFER_QUEUE_PREFIX: queuePrefix } });

let owner: Awaited<ReturnType<Harness['createProjectWithOwner']>>;
let instanceId: string;
let groupId: string;

const projectId = () => owner.project.id;
const caller = () => h.callerFor(owner.owner);

async function effective() {
  const parameters = await caller().configuration.effective({
    projectId: projectId(),
    instanceId,
  });
  return new Map(parameters.map((parameter) => [parameter.name, parameter]));
}

async function statusIs(status: string, timeoutMs = 60_000) {
  await waitFor(
    async () =>
      (await caller().instance.get({ projectId: projectId(), instanceId })).status === status,
    { timeoutMs, what: `the instance ${status}` },
  );
}

beforeAll(async () => {
  worker = await startTestWorker(h, {
    dataDir,
    heartbeatExpirySeconds: 60,
    names: {
      queuePrefix,
      conductorStream: `test-cfg-conductor-${suffix}`,
      conductorGroup: `test-cfg-conductor-${suffix}`,
      keyPrefix: `test-cfg-${suffix}`,
    },
  });
  owner = await h.createProjectWithOwner('Configured');
  const version = await h.prisma.datastoreVersion.findFirstOrThrow({
    where: { isDefault: true },
  });
  const group = await caller().configuration.create({
    projectId: projectId(),
    name: 'tuned',
    datastoreVersionId: version.id,
    values: { max_connections: 120 },
  });
  groupId = group.id;
  const flavor = (await caller().catalog.flavors())[0]!;
  const created = await caller().instance.create({
    projectId: projectId(),
    name: 'tuned-db',
    flavorId: flavor.id,
    volumeSizeGb: 1,
    configurationGroupId: groupId,
  });
  instanceId = created.id;
  const live = await caller().instance.onChange({ projectId: projectId(), instanceId });
  await waitForStatus(live, instanceId, ['ACTIVE', 'ERROR'], 180_000);
}, 240_000);

afterAll(async () => {
  await endTestWorkerFile(worker, {
    dataDir,
    redisKeys: [`${queuePrefix}:*`, `test-cfg-conductor-${suffix}*`],
  });
}, 120_000);

describe('configuration groups with a worker', () => {
  it('a create with a group runs with its values; the effective configuration names each source', async () => {
    expect((await caller().instance.get({ projectId: projectId(), instanceId })).status).toBe(
      'ACTIVE',
    );
    const byName = await effective();
    expect(byName.get('max_connections')).toMatchObject({ value: '120', source: 'group' });
    expect(byName.get('innodb_buffer_pool_size')).toMatchObject({ source: 'flavor' });
    expect(byName.get('long_query_time')).toMatchObject({ source: 'default' });
  });

  it('an edit with a static value: RESTART_REQUIRED naming it until the restart, then it holds', async () => {
    await caller().configuration.update({
      projectId: projectId(),
      id: groupId,
      values: { max_connections: 130, performance_schema: true },
    });
    await statusIs('RESTART_REQUIRED');
    await waitFor(
      async () =>
        !(await caller().configuration.instance({ projectId: projectId(), instanceId }))
          .isApplyPending,
      { timeoutMs: 60_000, what: 'the edit applied' },
    );
    const configuration = await caller().configuration.instance({
      projectId: projectId(),
      instanceId,
    });
    expect(configuration.lastApply).toMatchObject({
      applied: ['max_connections'],
      pendingRestart: ['performance_schema'],
      failed: [],
    });
    let byName = await effective();
    expect(byName.get('max_connections')).toMatchObject({ value: '130' });
    expect(byName.get('performance_schema')).toMatchObject({
      value: 'OFF',
      isRestartPending: true,
    });

    await caller().instance.restart({ projectId: projectId(), instanceId });
    await statusIs('ACTIVE', 120_000);
    byName = await effective();
    expect(byName.get('performance_schema')).toMatchObject({
      value: 'ON',
      isRestartPending: false,
    });
  });

  it('a group made from the instance holds its values; detach restores Coffer’s', async () => {
    const copy = await caller().configuration.createFromInstance({
      projectId: projectId(),
      instanceId,
      name: 'copied',
    });
    expect(copy.values).toMatchObject({ max_connections: 130, performance_schema: true });
    expect(copy.values).not.toHaveProperty('innodb_buffer_pool_size');

    await caller().configuration.detach({ projectId: projectId(), instanceId });
    await waitFor(
      async () =>
        !(await caller().configuration.instance({ projectId: projectId(), instanceId }))
          .isApplyPending,
      { timeoutMs: 60_000, what: 'the detach applied' },
    );
    const byName = await effective();
    expect(byName.get('max_connections')).toMatchObject({ value: '64', source: 'flavor' });
  });
}, 180_000);
