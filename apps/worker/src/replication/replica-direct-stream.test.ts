import { createServer, type Server } from 'node:net';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import { hasReachedGtid } from '@coffer/contracts';
import { readMariadbBackupDetails } from '@coffer/contracts/datastores/mariadb';
import { processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  setUpWithSlowBackups,
  storedObjects,
  waitForBackupEnd,
  waitForBuildEnd,
} from '../../test/backups';
import { type CreatedInstance, WorkerTestContext } from '../../test/harness';
import {
  asRoot,
  startReplicas,
  volumeOf,
  waitForReplicationState,
  waitForTasksToEnd,
} from '../../test/replication';

/**
 * Replicas seeded by a direct stream (issue 18), for real: the source's guest sends its
 * snapshot straight to the replica's guest (TLS-PSK), nothing of it in the object store, and
 * the replica's data is its source's at the snapshot's GTID; a stream that cannot be made
 * (its port taken) falls back to the object store; a stream broken midway because the
 * source's tool died (its snapshot FAILED) fails the replica cleanly, nothing of it left,
 * the source ACTIVE again. A stream broken on the way, or a replica too late, is seeded again
 * from the object store: replica-stream-fallback.test.ts.
 */

const ctx = new WorkerTestContext({ name: 'replica-stream' });
let source: CreatedInstance;

beforeAll(async () => {
  source = await setUpWithSlowBackups(ctx, 40);
}, 240_000);

afterAll(async () => {
  await ctx.closeLeavingNothing();
}, 180_000);

/** The snapshot's row as it completed (it is removed once its replica is built), and whether any object of it was ever stored. */
function watchSnapshot(backupId: string) {
  let stored = 0;
  let completed: { details: unknown; chunkCount: number | null } | null = null;
  let isDone = false;
  const watching = (async () => {
    while (!isDone) {
      const row = await ctx.prisma.backup.findUnique({ where: { id: backupId } });
      if (row) stored = Math.max(stored, storedObjects(ctx, row.location).length);
      if (row?.status === 'COMPLETED' && !completed)
        completed = { details: row.details, chunkCount: row.chunkCount };
      await new Promise((tick) => setTimeout(tick, 20));
    }
  })();
  return {
    async stop() {
      isDone = true;
      await watching;
      return { stored, completed: completed as typeof completed };
    },
  };
}

async function tableChecksums(instanceId: string): Promise<Record<string, string>> {
  return asRoot(ctx, instanceId, async (connection) => {
    const [tables] = await connection.query(
      "SELECT CONCAT(table_schema, '.', table_name) AS name FROM information_schema.tables WHERE table_schema = 'app' ORDER BY 1",
    );
    const sums: Record<string, string> = {};
    for (const { name } of tables as Array<{ name: string }>) {
      const [rows] = await connection.query(`CHECKSUM TABLE ${name} EXTENDED`);
      sums[name] = String((rows as Array<{ Checksum: unknown }>)[0]!.Checksum);
    }
    return sums;
  });
}

async function gtidOf(instanceId: string, variable: string): Promise<string> {
  return asRoot(ctx, instanceId, async (connection) => {
    const [rows] = await connection.query(`SELECT @@${variable} AS pos`);
    return String((rows as Array<{ pos: string }>)[0]!.pos);
  });
}

describe('a replica seeded by a direct stream', () => {
  it("sends one snapshot to two replicas at once from its source's guest, never through the object store; each holds its source's data at the snapshot's GTID", async () => {
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 2);
    const watch = watchSnapshot(backupId);
    const built = await Promise.all(replicaIds.map((id) => waitForBuildEnd(ctx, id, 180_000)));
    const { stored, completed } = await watch.stop();
    for (const { outcome, row } of built) expect(outcome, row.faultMessage ?? '').toBe('ACTIVE');
    // One snapshot, sent once to both: no object of it was ever stored.
    expect(stored).toBe(0);
    expect(completed?.chunkCount).toBe(0);
    const gtid = readMariadbBackupDetails(completed!.details)!.gtid!;
    expect(gtid).toMatch(/^\d+-\d+-\d+/);
    // Nothing was written since the snapshot: the source is still at its GTID, and each
    // replica, attached from it, at the same place with the same bytes in every table.
    const sourcePos = await gtidOf(source.instanceId, 'gtid_binlog_pos');
    expect(hasReachedGtid(sourcePos, gtid)).toBe(true);
    const sourceSums = await tableChecksums(source.instanceId);
    expect(Object.keys(sourceSums)).toContain('app.blobs');
    for (const replicaId of replicaIds) {
      await waitForReplicationState(ctx, replicaId, 'REPLICATING', 60_000);
      await waitFor(
        async () => hasReachedGtid(await gtidOf(replicaId, 'gtid_slave_pos'), sourcePos),
        { timeoutMs: 30_000, what: 'the replica at its source GTID' },
      );
      expect(await tableChecksums(replicaId)).toEqual(sourceSums);
    }
  });

  it("sends one replica's snapshot over a socket channel from the source's tool straight into the replica's unpacker, its data its source's", async () => {
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
    const [replicaId] = replicaIds as [string];
    const watch = watchSnapshot(backupId);
    // The two ends of the channel, seen while the replica builds: the source's tool writes
    // into a socket (its stdout), the replica's unpacker reads one (its stdin).
    const seen = new Map<string, string>();
    let isBuilt = false;
    // What fd `fd` of `pid` is; nothing once the process is going (it keeps what was seen).
    const note = (what: string, pid: number, fd: number) => {
      try {
        seen.set(what, readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // Gone meanwhile.
      }
    };
    const spying = (async () => {
      while (!isBuilt) {
        for (const { pid, args } of processesMentioning(volumeOf(ctx, source.instanceId)))
          if (/mariadb-backup$|mariabackup$/.test(args[0] ?? '') && args.includes('--backup'))
            note('source tool stdout', pid, 1);
        if ((await ctx.row(replicaId))?.computeServerId != null)
          for (const { pid, args } of processesMentioning(volumeOf(ctx, replicaId)))
            if (/mbstream$/.test(args[0] ?? '')) note('replica unpacker stdin', pid, 0);
        await new Promise((tick) => setTimeout(tick, 5));
      }
    })();
    const built = await waitForBuildEnd(ctx, replicaId, 180_000);
    isBuilt = true;
    await spying;
    const { stored, completed } = await watch.stop();
    expect(built.outcome, built.row.faultMessage ?? '').toBe('ACTIVE');
    expect(stored).toBe(0);
    expect(completed?.chunkCount).toBe(0);
    expect(seen).toEqual(
      new Map([
        ['source tool stdout', expect.stringMatching(/^socket:\[\d+\]$/) as string],
        ['replica unpacker stdin', expect.stringMatching(/^socket:\[\d+\]$/) as string],
      ]),
    );
    await waitForReplicationState(ctx, replicaId, 'REPLICATING', 60_000);
    expect(await tableChecksums(replicaId)).toEqual(await tableChecksums(source.instanceId));
  });

  it("makes the replica's server while its source's snapshot has not started, then builds it", async () => {
    // The source's guest paused: the snapshot's backup job cannot start it (it stays NEW).
    const guestPid = Number(
      readFileSync(join(ctx.instanceDir(source.instanceId), 'run', 'guest.pid'), 'utf8'),
    );
    process.kill(guestPid, 'SIGSTOP');
    let started: { backupId: string; replicaIds: string[] };
    try {
      started = await startReplicas(ctx, source.instanceId, 1);
      const [replicaId] = started.replicaIds as [string];
      await waitFor(async () => (await ctx.row(replicaId))?.computeServerId != null, {
        timeoutMs: 30_000,
        intervalMs: 10,
        what: "the replica's server, made before the snapshot starts",
      });
      const snapshot = await ctx.prisma.backup.findUniqueOrThrow({
        where: { id: started.backupId },
      });
      expect(snapshot.status).toBe('NEW');
    } finally {
      process.kill(guestPid, 'SIGCONT');
    }
    const built = await waitForBuildEnd(ctx, started.replicaIds[0]!, 180_000);
    expect(built.outcome, built.row.faultMessage ?? '').toBe('ACTIVE');
    await waitForReplicationState(ctx, started.replicaIds[0]!, 'REPLICATING', 60_000);
  });

  it('falls back to the object store when the direct stream cannot be made (its port taken)', async () => {
    const endpoint = await ctx.provider.guestStreamEndpoint!(source.instanceId);
    // Something else answers on the source's stream port: the source cannot listen there,
    // and the replica's handshake fails.
    const squatter: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(endpoint!.port, endpoint!.host, resolve));
    try {
      const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
      const [replicaId] = replicaIds as [string];
      const watch = watchSnapshot(backupId);
      const built = await waitForBuildEnd(ctx, replicaId, 180_000);
      const { stored, completed } = await watch.stop();
      expect(built.outcome, built.row.faultMessage ?? '').toBe('ACTIVE');
      expect(stored).toBeGreaterThan(0);
      expect(completed?.chunkCount).toBeGreaterThan(0);
      await waitForReplicationState(ctx, replicaId, 'REPLICATING', 60_000);
      expect(await tableChecksums(replicaId)).toEqual(await tableChecksums(source.instanceId));
    } finally {
      squatter.close();
    }
  });

  it('fails cleanly when the stream breaks midway: nothing of the replica left, the source ACTIVE again', async () => {
    await ctx.waitForActive(source.instanceId, { timeoutMs: 60_000, what: 'the source ACTIVE' });
    const { backupId, replicaIds } = await startReplicas(ctx, source.instanceId, 1);
    const [replicaId] = replicaIds as [string];
    // The replica's unpacker, paused: the stream stops midway (the source waits for it).
    const mbstream = await waitFor(
      async () => {
        if ((await ctx.row(replicaId))?.computeServerId == null) return null;
        if (!existsSync(join(ctx.instanceDir(replicaId), 'etc', 'guest-agent.json'))) return null;
        return (
          processesMentioning(volumeOf(ctx, replicaId)).find(({ args }) =>
            /mbstream$/.test(args[0] ?? ''),
          ) ?? null
        );
      },
      { timeoutMs: 90_000, intervalMs: 10, what: "the replica's mbstream" },
    );
    process.kill(mbstream.pid, 'SIGSTOP');
    // The source's tool dies: its stream ends without its manifest.
    const tool = await waitFor(
      () =>
        processesMentioning(volumeOf(ctx, source.instanceId)).find(({ args }) =>
          /mariadb-backup$|mariabackup$/.test(args[0] ?? ''),
        ) ?? null,
      { timeoutMs: 30_000, intervalMs: 10, what: "the source's mariadb-backup" },
    );
    process.kill(tool.pid, 'SIGKILL');
    process.kill(mbstream.pid, 'SIGCONT');

    expect((await waitForBackupEnd(ctx, backupId, 60_000)).status).toBe('FAILED');
    const [replica] = await waitForTasksToEnd(ctx, [replicaId], 120_000);
    expect(replica!.taskStatus).toBe('BUILDING_ERROR');
    // Whichever saw it first: the replica's broken stream, or the control plane's failed snapshot.
    expect(replica!.faultMessage).toMatch(/snapshot/i);
    await waitFor(
      async () =>
        processesMentioning(ctx.instanceDir(replicaId)).length === 0 &&
        (await ctx.provider.getServer(replicaId)) === null &&
        !existsSync(ctx.instanceDir(replicaId)),
      { timeoutMs: 30_000, what: "the replica's guest, server and files to be gone" },
    );
    // Nothing of the stream left on the source either: no tool, no listener.
    expect(
      processesMentioning(volumeOf(ctx, source.instanceId)).filter(({ args }) =>
        /mariadb-backup$|mbstream$/.test(args[0] ?? ''),
      ),
    ).toEqual([]);
    await ctx.waitForActive(source.instanceId, {
      timeoutMs: 90_000,
      what: 'the source ACTIVE again',
    });
  });
});
