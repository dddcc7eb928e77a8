import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createActiveInstance,
  fillWithBlobs,
  storedObjects,
  waitForBackupEnd,
} from '../../test/backups';
import { displayStatusOf, type CreatedInstance, WorkerTestContext } from '../../test/harness';
import { startReplicas, waitForTasksToEnd } from '../../test/replication';

/**
 * A replica restores its source's snapshot from the object store while the snapshot is written. When the snapshot
 * fails half-way (the source's guest killed), the replica's build fails with the snapshot's
 * reason, and nothing of it is left running: no guest, no server, no files; the source is
 * ACTIVE again.
 */

const ctx = new WorkerTestContext({ name: 'replica-fault' });
let source: CreatedInstance;

beforeAll(async () => {
  // A snapshot long enough to outlast the replica's server being made, even on a busy machine
  // (with 40 MB, 83 chunks were all stored before it, once, at load 5-15).
  // Through the object store (no direct stream: replica-direct-stream.test.ts has that one).
  await ctx.setUp();
  await ctx.startWorker({
    env: {
      COFFER_BACKUP_CHUNK_MB: 1,
      COFFER_BACKUP_UPLOAD_CONCURRENCY: 1,
      COFFER_REPLICA_STREAM_WINDOW_MS: 0,
    },
  });
  source = await createActiveInstance(ctx);
  await fillWithBlobs(ctx, source, 120);
}, 180_000);

afterAll(() => ctx.closeLeavingNothing());

describe('a replica following a snapshot that fails', () => {
  it('fails with the snapshot, leaving nothing running, and the source ACTIVE again', async () => {
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
    const [replicaId] = replicaIds as [string];
    const location = (await ctx.prisma.backup.findUniqueOrThrow({ where: { id: backupId } }))
      .location;
    // The replica's guest is restoring while the snapshot is written: some chunks are stored
    // (each with its entry, for the follower), the manifest is not.
    await waitFor(
      () => storedObjects(ctx, location).filter((name) => name.endsWith('.json')).length >= 2,
      { timeoutMs: 60_000, intervalMs: 10, what: 'the first chunks and their entries' },
    );
    await waitFor(async () => (await ctx.row(replicaId))?.computeServerId !== null, {
      timeoutMs: 30_000,
      intervalMs: 10,
      what: "the replica's server, restoring",
    });
    expect(storedObjects(ctx, location)).not.toContain('manifest.json');
    process.kill(
      Number(readFileSync(join(ctx.instanceDir(source.instanceId), 'run', 'guest.pid'), 'utf8')),
      'SIGKILL',
    );

    const snapshot = await waitForBackupEnd(ctx, backupId, 60_000);
    expect(snapshot.status).toBe('FAILED');
    const [replica] = await waitForTasksToEnd(ctx, [replicaId], 120_000);
    expect(replica!.taskStatus).toBe('BUILDING_ERROR');
    expect(displayStatusOf(replica!)).toBe('ERROR');
    expect(replica!.faultMessage).toMatch(/snapshot of the source failed/);
    // Nothing of the replica is left running or on disk but its row, for the tenant to read.
    // (The failed build removes its server right after it records the fault.)
    await waitFor(
      async () =>
        processesMentioning(ctx.instanceDir(replicaId)).length === 0 &&
        (await ctx.provider.getServer(replicaId)) === null,
      { timeoutMs: 15_000, what: "the replica's guest, server and files to be gone" },
    );
    expect((await ctx.row(replicaId))!.faultMessage).toMatch(/snapshot of the source failed/);
    await ctx.waitForActive(source.instanceId, {
      timeoutMs: 90_000,
      what: 'the source ACTIVE again',
    });
  });
});
