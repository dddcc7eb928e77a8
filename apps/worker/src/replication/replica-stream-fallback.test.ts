import { connect, createServer, type Server, type Socket } from 'node:net';

import { processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { setUpWithSlowBackups, storedObjects, waitForBuildEnd } from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';
import {
  asRoot,
  startReplicas,
  volumeOf,
  waitForReplicationState,
  waitForTasksToEnd,
} from '../../test/replication';

/**
 * Replicas whose direct stream failed are seeded from the object store (issue 18), for real:
 * a replica that comes after its source started sending (told "too late"), and one whose
 * stream breaks after data reached it, each end ACTIVE and replicating with their source's
 * data, from a second snapshot that went through the object store; the failed attempt's
 * server is gone, and both snapshots (rows and objects) are removed once the replicas are built.
 */

const ctx = new WorkerTestContext({ name: 'replica-fallback' });
let source: CreatedInstance;

beforeAll(async () => {
  source = await setUpWithSlowBackups(ctx, 40);
}, 240_000);

afterAll(async () => {
  await ctx.closeLeavingNothing();
}, 180_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function tableChecksums(instanceId: string): Promise<Record<string, string>> {
  return asRoot(ctx, instanceId, async (connection) => {
    const [rows] = await connection.query('CHECKSUM TABLE app.blobs EXTENDED');
    return { 'app.blobs': String((rows as Array<{ Checksum: unknown }>)[0]!.Checksum) };
  });
}

/** A replica's restore tool (mbstream) once its server and guest are there. */
async function mbstreamOf(replicaId: string) {
  return waitFor(
    async () =>
      (await ctx.row(replicaId))?.computeServerId == null
        ? null
        : (processesMentioning(volumeOf(ctx, replicaId)).find(({ args }) =>
            /mbstream$/.test(args[0] ?? ''),
          ) ?? null),
    { timeoutMs: 90_000, intervalMs: 10, what: `the mbstream of ${replicaId}` },
  );
}

/** The snapshots a replica was restored from, as its row named them while it was built. */
function watchSnapshots(replicaId: string) {
  const seen = new Map<string, { location: string; stored: number; chunkCount: number | null }>();
  let isDone = false;
  const watching = (async () => {
    // Ends with the test, or when the test's database goes (a failed test never stops it).
    while (!isDone) {
      const row = await ctx.row(replicaId).catch(() => null);
      if (!row) break;
      const id = row.restoredFromBackupId;
      if (id) {
        const backup = await ctx.prisma.backup.findUnique({ where: { id } }).catch(() => null);
        if (backup) {
          const known = seen.get(id);
          seen.set(id, {
            location: backup.location,
            stored: Math.max(known?.stored ?? 0, storedObjects(ctx, backup.location).length),
            chunkCount: backup.chunkCount ?? known?.chunkCount ?? null,
          });
        }
      }
      await new Promise((tick) => setTimeout(tick, 20));
    }
  })();
  return {
    async stop() {
      isDone = true;
      await watching;
      return seen;
    },
  };
}

/** The replica is ACTIVE from a stored snapshot, replicating, with its source's data; both snapshots are gone. */
async function expectReseeded(
  replicaId: string,
  firstBackupId: string,
  seen: Map<string, { location: string; stored: number; chunkCount: number | null }>,
) {
  const row = (await ctx.row(replicaId))!;
  const reseededFrom = row.restoredFromBackupId!;
  expect(reseededFrom).not.toBe(firstBackupId);
  // The second snapshot went through the object store.
  expect(seen.get(reseededFrom)?.stored).toBeGreaterThan(0);
  const events = await ctx.prisma.instanceEvent.findMany({
    where: { instanceId: replicaId, kind: 'replica_reseeded' },
  });
  expect(events).toHaveLength(1);
  expect(events[0]!.details).toEqual({ fromBackupId: firstBackupId, backupId: reseededFrom });
  await waitForReplicationState(ctx, replicaId, 'REPLICATING', 60_000);
  expect(await tableChecksums(replicaId)).toEqual(await tableChecksums(source.instanceId));
  // Nothing left of either snapshot: rows released, objects removed.
  await waitFor(
    async () =>
      (await ctx.prisma.backup.count({ where: { id: { in: [firstBackupId, reseededFrom] } } })) ===
        0 && storedObjects(ctx, seen.get(reseededFrom)!.location).length === 0,
    { timeoutMs: 60_000, what: 'both snapshots removed' },
  );
}

describe('a replica whose direct stream failed', () => {
  it('that came after its source had started sending is seeded from the object store', async () => {
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
    const [first] = replicaIds as [string];
    // The first replica's stream under way, held there (its unpacker paused: the source waits).
    const mbstream = await mbstreamOf(first);
    process.kill(mbstream.pid, 'SIGSTOP');
    // A second replica of the same snapshot, as startReplicas writes one: it comes too late.
    const { id: late } = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: `late-${Date.now()}`,
        flavorId: ctx.flavorId,
        datastoreVersionId: ctx.versionId,
        volumeSizeGb: 1,
        taskStatus: 'BUILDING',
        serviceStatus: 'NEW',
        replicaOfId: source.instanceId,
        restoredFromBackupId: backupId,
      },
    });
    const watch = watchSnapshots(late);
    try {
      await ctx.enqueue('instance.create', late, {
        instanceId: late,
        restoreFromBackupId: backupId,
      });
      // Its server made, told it is too late, and its server removed again.
      let hadServer = false;
      await waitFor(
        async () => {
          const now = await ctx.row(late);
          if (now?.computeServerId) hadServer = true;
          return hadServer && now?.computeServerId == null ? true : null;
        },
        { timeoutMs: 120_000, intervalMs: 10, what: 'the late replica to fail its stream' },
      );
    } finally {
      process.kill(mbstream.pid, 'SIGCONT');
    }
    const built = await Promise.all([first, late].map((id) => waitForBuildEnd(ctx, id, 240_000)));
    const seen = await watch.stop();
    for (const { outcome, row } of built) expect(outcome, row.faultMessage ?? '').toBe('ACTIVE');
    // The first replica got the snapshot straight from its source.
    expect((await ctx.row(first))!.restoredFromBackupId).toBe(backupId);
    expect(seen.get(backupId)?.stored ?? 0).toBe(0);
    await waitForReplicationState(ctx, first, 'REPLICATING', 60_000);
    await expectReseeded(late, backupId, seen);
  }, 480_000);

  it('that came after its source had sent the whole snapshot is seeded from the object store at once', async () => {
    await ctx.waitForActive(source.instanceId, { timeoutMs: 90_000, what: 'the source ACTIVE' });
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
    const [first] = replicaIds as [string];
    // The stream over (nothing of it stored), the first replica held before it is built, so
    // that the snapshot's row stays.
    await waitFor(
      async () =>
        (await ctx.prisma.backup.findUnique({ where: { id: backupId } }))?.status === 'COMPLETED'
          ? true
          : null,
      { timeoutMs: 120_000, intervalMs: 5, what: 'the direct snapshot to complete' },
    );
    const held = processesMentioning(ctx.instanceDir(first));
    for (const { pid } of held) process.kill(pid, 'SIGSTOP');
    let late = '';
    let watch: ReturnType<typeof watchSnapshots> | null = null;
    try {
      expect((await ctx.row(first))!.taskStatus).toBe('BUILDING');
      expect((await ctx.prisma.backup.findUnique({ where: { id: backupId } }))!.chunkCount).toBe(0);
      ({ id: late } = await ctx.prisma.instance.create({
        data: {
          projectId: ctx.projectId,
          name: `after-${Date.now()}`,
          flavorId: ctx.flavorId,
          datastoreVersionId: ctx.versionId,
          volumeSizeGb: 1,
          taskStatus: 'BUILDING',
          serviceStatus: 'NEW',
          replicaOfId: source.instanceId,
          restoredFromBackupId: backupId,
        },
      }));
      watch = watchSnapshots(late);
      await ctx.enqueue('instance.create', late, {
        instanceId: late,
        restoreFromBackupId: backupId,
      });
      // Reseeded before it asked for any restore (the server made meanwhile is removed with
      // the reseed, and made again).
      await waitFor(
        async () => {
          const row = await ctx.row(late);
          return row?.restoredFromBackupId !== backupId ? true : null;
        },
        { timeoutMs: 60_000, intervalMs: 10, what: 'the late replica reseeded' },
      );
    } finally {
      for (const { pid } of held) process.kill(pid, 'SIGCONT');
    }
    const built = await Promise.all([first, late].map((id) => waitForBuildEnd(ctx, id, 240_000)));
    const seen = await watch!.stop();
    for (const { outcome, row } of built) expect(outcome, row.faultMessage ?? '').toBe('ACTIVE');
    await waitForReplicationState(ctx, first, 'REPLICATING', 60_000);
    await expectReseeded(late, backupId, seen);
  }, 480_000);

  it('that broke after data had reached it is seeded from the object store, its first server gone', async () => {
    await ctx.waitForActive(source.instanceId, { timeoutMs: 90_000, what: 'the source ACTIVE' });
    // The first replica to ask reaches its source through a relay that cuts the stream once
    // 2 MB went through; the source goes on with the other replica.
    const provider = ctx.provider;
    const original = provider.guestStreamEndpoint!.bind(provider);
    let calls = 0;
    let cut = false;
    let building: string[] = [];
    const runningAtCut = new Map<string, number[]>();
    let relayed = 0;
    const sockets = new Set<Socket>();
    const relay: Server = createServer((client) => {
      sockets.add(client);
      const upstream = connect(relayTo!.port, relayTo!.host);
      sockets.add(upstream);
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
      client.pipe(upstream);
      upstream.on('data', (data: Buffer) => {
        relayed += data.length;
        if (relayed > 2 * 1024 * 1024 && !cut) {
          cut = true;
          // What runs of each replica when its stream breaks: the broken one's must all go.
          for (const id of building)
            runningAtCut.set(
              id,
              processesMentioning(ctx.instanceDir(id)).map(({ pid }) => pid),
            );
          client.destroy();
          upstream.destroy();
          return;
        }
        if (!cut) client.write(data);
      });
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayPort = (relay.address() as { port: number }).port;
    let relayTo: { host: string; port: number } | null = null;
    provider.guestStreamEndpoint = async (serverId: string) => {
      const endpoint = await original(serverId);
      calls += 1;
      // The first call is the source's (it listens), the second the first replica's.
      if (calls !== 2 || !endpoint) return endpoint;
      relayTo = endpoint;
      return { host: '127.0.0.1', port: relayPort };
    };
    try {
      const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 2);
      building = replicaIds;
      const watches = new Map(replicaIds.map((id) => [id, watchSnapshots(id)]));
      const built = await waitForTasksToEnd(ctx, replicaIds, 300_000);
      for (const row of built) expect(row.taskStatus, row.faultMessage ?? '').toBe('NONE');
      expect(cut).toBe(true);
      const reseeded: string[] = [];
      for (const id of replicaIds) {
        const seen = await watches.get(id)!.stop();
        if ((await ctx.row(id))!.restoredFromBackupId === backupId) {
          await waitForReplicationState(ctx, id, 'REPLICATING', 60_000);
          expect(await tableChecksums(id)).toEqual(await tableChecksums(source.instanceId));
          continue;
        }
        reseeded.push(id);
        await expectReseeded(id, backupId, seen);
        // Its first server's processes (guest, tools) are gone, not left beside the new ones.
        expect(runningAtCut.get(id)!.length).toBeGreaterThan(0);
        for (const pid of runningAtCut.get(id)!) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      }
      // Exactly the one whose stream broke.
      expect(reseeded).toHaveLength(1);
    } finally {
      provider.guestStreamEndpoint = original;
      for (const socket of sockets) socket.destroy();
      relay.close();
    }
  }, 600_000);
});
