import { randomUUID } from 'node:crypto';

import { startReplicaReseed } from '@coffer/db/domain/replicas';
import { createBackupRow } from '@coffer/db/factories';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';

/**
 * A replica seeded again from the object store (reseed-replica.ts) whose worker went away
 * after the new snapshot started (`startReplicaReseed`) and before the first one was released:
 * the rows are written as that crash leaves them, and the create job run again releases the
 * first snapshot (else it would stay, counted in the project's backups quota, for good) and
 * waits for the new one, which it keeps.
 */

const ctx = new WorkerTestContext({ name: 'reseed-resume' });

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker({ roles: ['taskmanager'] });
}, 120_000);

afterAll(async () => {
  await ctx.close();
}, 120_000);

async function insertInstance(
  extra: { replicaOfId?: string; restoredFromBackupId?: string } = {},
): Promise<string> {
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `reseed-${randomUUID().slice(0, 8)}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 1,
      taskStatus: extra.replicaOfId ? 'BUILDING' : 'NONE',
      serviceStatus: extra.replicaOfId ? 'NEW' : 'RUNNING',
      lastHeartbeatAt: new Date(),
      ...extra,
    },
  });
  return row.id;
}

describe('a replica seeded again', () => {
  it('whose worker died before releasing the first snapshot releases it when its create job runs again, and keeps the new one', async () => {
    const sourceId = await insertInstance();
    const first = await createBackupRow(
      ctx.prisma,
      { id: sourceId, projectId: ctx.projectId, name: 'source', datastoreVersionId: ctx.versionId },
      { status: 'COMPLETED', storeKind: 'pending' },
    );
    const replicaId = await insertInstance({ replicaOfId: sourceId, restoredFromBackupId: first });
    // The crash: the new snapshot started, its backup job never ran, the first one not released.
    const { backupId: second } = await startReplicaReseed(ctx.prisma, {
      replicaId,
      fromBackupId: first,
      reason: 'told too late',
      enqueue: async () => undefined,
    });
    expect((await ctx.row(replicaId))?.restoredFromBackupId).toBe(second);

    await ctx.enqueue('instance.create', replicaId, {
      instanceId: replicaId,
      databases: [],
      users: [],
      restoreFromBackupId: first,
    });

    await waitFor(
      async () => (await ctx.prisma.backup.findUnique({ where: { id: first } })) === null,
      {
        timeoutMs: 30_000,
        what: 'the first snapshot released',
      },
    );
    // The job waits for the new snapshot (its backup job was lost: nothing makes it here).
    expect(await ctx.prisma.backup.findUnique({ where: { id: second } })).toMatchObject({
      status: 'NEW',
    });
    expect(await ctx.row(replicaId)).toMatchObject({
      taskStatus: 'BUILDING',
      restoredFromBackupId: second,
    });

    // Ends the job (it stops waiting once the replica is no longer being built).
    await ctx.prisma.instance.update({ where: { id: replicaId }, data: { taskStatus: 'NONE' } });
  });
});
