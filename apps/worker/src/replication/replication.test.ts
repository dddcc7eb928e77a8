import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { hasReachedGtid } from '@coffer/contracts';
import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedObjects, waitForBuildEnd } from '../../test/backups';
import { displayStatusOf, type CreatedInstance, WorkerTestContext } from '../../test/harness';
import {
  asRoot,
  idsOn,
  insertIds,
  socketOf,
  startDetach,
  startEject,
  startInsertLoop,
  startPromote,
  startReplicas,
  tenantConnection,
  tenantWriteError,
  volumeOf,
  waitForIds,
  waitForReplicationState,
  waitForTasksToEnd,
} from '../../test/replication';

/**
 * Replication through the control plane, for real (GTID, the default strategy): the worker,
 * real guests and mariadbd. One replication set lives through the file, as it would in use:
 * two replicas made at once from one snapshot; a replica broken by a conflicting row shows
 * BROKEN with the server's error; one replica promoted while the source takes a steady
 * insert load; the new source killed and ejected while one replica lags and the other has
 * not applied all it received; the last replica detached.
 */

const ctx = new WorkerTestContext({ name: 'replication' });
let tenant: CreatedInstance;
let sourceId: string;
let replicaIds: string[];
let nextId = 1;

function insertOn(instanceId: string, count: number): Promise<number[]> {
  const ids = Array.from({ length: count }, () => nextId++);
  return insertIds(ctx, instanceId, tenant, ids);
}

/** Every file under a directory (logs, binary logs, configs), for the password hunt. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile() || entry.isSymbolicLink()) found.push(path);
  }
  return found;
}

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker();
  tenant = await ctx.createInstance({ name: 'orders' });
  sourceId = tenant.instanceId;
  await waitForBuildEnd(ctx, sourceId);
  const connection = await tenantConnection(ctx, sourceId, tenant);
  await connection.query(
    'CREATE TABLE t (id INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))',
  );
  await connection.end();
  await insertOn(sourceId, 20);
}, 120_000);

afterAll(async () => {
  await ctx.closeLeavingNothing();
}, 120_000);

describe('replication (GTID)', () => {
  it('creates two replicas from one snapshot: read-only, replicating, the snapshot gone, no password anywhere', async () => {
    const started = await startReplicas(ctx, sourceId, 2);
    replicaIds = started.replicaIds;
    for (const id of replicaIds) {
      const built = await waitForBuildEnd(ctx, id, 180_000);
      expect(built.outcome, built.row.faultMessage ?? '').toBe('ACTIVE');
      expect(built.row.replicaOfId).toBe(sourceId);
    }
    // The rows of the snapshot, and what the source writes after it, on each replica.
    const later = await insertOn(sourceId, 5);
    for (const id of replicaIds) {
      const present = await waitForIds(ctx, id, tenant, [1, 20, ...later]);
      expect(present).toHaveLength(25);
      // Attached by GTID, read-only (kept in its config), reported by its heartbeats.
      // Caught up: its heartbeats report no lag once it applied what it received (a loaded
      // machine can report 1-2 s for a heartbeat or two while it applies).
      const row = await waitForReplicationState(
        ctx,
        id,
        'REPLICATING',
        30_000,
        (current) => current.replicationLagSeconds === 0,
      );
      expect(row.replicationLagSeconds).toBe(0);
      expect(row.replicationError).toBeNull();
      expect(displayStatusOf(row)).toBe('ACTIVE');
      const status = row.replicationStatus as {
        isReadOnly: boolean;
        replica: { usingGtid: string; sourcePort: number };
      };
      expect(status.isReadOnly).toBe(true);
      expect(status.replica.usingGtid).toBe('SLAVE_POS');
      expect(status.replica.sourcePort).toBe((await ctx.row(sourceId))!.port);
      expect(readFileSync(join(volumeOf(ctx, id), 'my.cnf'), 'utf8')).toMatch(/^read_only = ON$/m);
      // The tenant cannot write on a replica (no SUPER, no READ_ONLY ADMIN).
      expect(await tenantWriteError(ctx, id, tenant, 100_000)).toBe('ER_OPTION_PREVENTS_STATEMENT');
    }
    // The source reports no source of its own.
    const source = await ctx.row(sourceId);
    expect(source!.replicationState).toBeNull();
    expect(source!.taskStatus).toBe('NONE');
    // The snapshot is gone, row and objects, once both replicas are built.
    await waitFor(
      async () => (await ctx.prisma.backup.count({ where: { id: started.backupId } })) === 0,
      {
        timeoutMs: 30_000,
        what: 'the snapshot to be removed',
      },
    );
    expect(storedObjects(ctx, `backups/${ctx.projectId}/${started.backupId}/`)).toEqual([]);

    // The replication password: only in the replica's master.info (MariaDB keeps it there);
    // not in any log, binary log or config of any instance, nor in the control plane's rows.
    const masterInfo = readFileSync(
      join(volumeOf(ctx, replicaIds[0]!), 'data', 'master.info'),
      'utf8',
    ).split('\n');
    const password = masterInfo.find((line) => /^[0-9a-f]{64}$/.test(line));
    expect(password).toBeDefined();
    for (const file of filesUnder(join(ctx.dataDir, 'instances'))) {
      if (file.endsWith('/master.info') || statSync(file).size > 64 * 1024 * 1024) continue;
      expect(readFileSync(file).includes(password!), file).toBe(false);
    }
    const rows = await ctx.prisma.instance.findMany();
    expect(
      JSON.stringify(rows, (_key, value: unknown) =>
        typeof value === 'bigint' ? String(value) : value,
      ),
    ).not.toContain(password);
    // The source only has the hash, for that replica's own account.
    const accounts = await asRoot(ctx, sourceId, async (root) => {
      const [found] = await root.query(
        "SELECT User AS user, Host AS host FROM mysql.user WHERE User LIKE 'coffer\\_repl\\_%' ORDER BY User",
      );
      return found as Array<{ user: string; host: string }>;
    });
    expect(accounts.map((account) => account.user).sort()).toEqual(
      replicaIds.map((id) => `coffer_repl_${id.replace(/-/g, '')}`).sort(),
    );
  }, 300_000);

  it('shows a replica broken by a conflicting row as BROKEN, with the server error, and ACTIVE', async () => {
    const [broken] = replicaIds as [string, string];
    const conflict = nextId++;
    // A row written behind replication's back (kept out of the replica's binlog), then the same key on the source.
    await asRoot(ctx, broken, async (root) => {
      await root.query('SET SESSION sql_log_bin = 0');
      await root.query(`INSERT INTO ${tenant.databaseName}.t (id) VALUES (?)`, [conflict]);
    });
    const connection = await tenantConnection(ctx, sourceId, tenant);
    await connection.query('INSERT INTO t (id) VALUES (?)', [conflict]);
    await connection.end();
    const row = await waitForReplicationState(ctx, broken, 'BROKEN');
    expect(row.replicationError).toMatch(/^SQL thread stopped \(error 1062\): .*Duplicate entry/);
    expect(displayStatusOf(row)).toBe('ACTIVE');
    // Repaired by hand (the row removed, the thread started): replicating again.
    await asRoot(ctx, broken, async (root) => {
      await root.query('SET SESSION sql_log_bin = 0');
      await root.query(`DELETE FROM ${tenant.databaseName}.t WHERE id = ?`, [conflict]);
      await root.query('START SLAVE');
    });
    await waitForReplicationState(ctx, broken, 'REPLICATING');
  }, 120_000);

  it('promotes a replica while the source takes a steady insert load: nothing acknowledged is lost, and the old source follows', async () => {
    const [other, promoted] = replicaIds as [string, string];
    const load = startInsertLoop(ctx, sourceId, tenant, 10_000);
    await waitFor(async () => (await idsOn(ctx, promoted, tenant)).some((id) => id >= 10_020), {
      timeoutMs: 30_000,
      what: 'the load to reach the replica',
    });
    const members = await startPromote(ctx, promoted);
    expect(members).toHaveLength(3);
    expect(displayStatusOf((await ctx.row(sourceId))!)).toBe('PROMOTE');
    const ended = await waitForTasksToEnd(ctx, members);
    const { acknowledged, refused } = await load.stop();
    for (const row of ended) expect(row.faultMessage, row.name).toBeNull();
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0); // writes did stop on the old source

    // Every row the old source acknowledged is on the new source.
    const onNew = new Set(await idsOn(ctx, promoted, tenant));
    expect(acknowledged.filter((id) => !onNew.has(id))).toEqual([]);
    // The topology: the promoted one has no source; the old source and the other replica follow it.
    const rows = new Map(ended.map((row) => [row.id, row]));
    expect(rows.get(promoted)!.replicaOfId).toBeNull();
    expect(rows.get(sourceId)!.replicaOfId).toBe(promoted);
    expect(rows.get(other)!.replicaOfId).toBe(promoted);
    // New writes on the new source reach the old source and the other replica; the old source refuses the tenant's.
    const after = await insertOn(promoted, 3);
    await waitForIds(ctx, sourceId, tenant, after);
    await waitForIds(ctx, other, tenant, after);
    expect(await tenantWriteError(ctx, sourceId, tenant, 200_000)).toBe(
      'ER_OPTION_PREVENTS_STATEMENT',
    );
    await waitForReplicationState(ctx, sourceId, 'REPLICATING');
    await waitForReplicationState(ctx, other, 'REPLICATING');
    expect(readFileSync(join(volumeOf(ctx, promoted), 'my.cnf'), 'utf8')).not.toMatch(/read_only/);
  }, 300_000);

  it('ejects a dead source: the most advanced replica takes over, after applying all it received, and the lagging one follows it', async () => {
    // After the promotion `dead` is the source; both others replicate from it. The one made
    // first (`lagging`, the original source) receives but does not apply the last writes; the
    // other (`ahead`) receives them too, but cannot apply them yet: a table lock holds its SQL
    // thread. By what each has applied they are level; by what each received, `ahead` is
    // ahead, and the eject must let it apply that before it ranks them.
    const dead = replicaIds[1]!;
    const lagging = sourceId;
    const ahead = replicaIds[0]!;
    await asRoot(ctx, lagging, (root) => root.query('STOP SLAVE SQL_THREAD'));
    const lock = await mysql.createConnection({ socketPath: socketOf(ctx, ahead), user: 'root' });
    await lock.query(`LOCK TABLES ${tenant.databaseName}.t WRITE`);
    const last = await insertOn(dead, 5);
    const sent = await asRoot(ctx, dead, async (root) => {
      const [found] = await root.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos');
      return (found as Array<{ pos: string }>)[0]!.pos;
    });
    for (const id of [lagging, ahead]) {
      await waitFor(
        async () =>
          asRoot(ctx, id, async (root) => {
            const [status] = await root.query('SHOW SLAVE STATUS');
            return hasReachedGtid((status as Array<{ Gtid_IO_Pos: string }>)[0]!.Gtid_IO_Pos, sent);
          }),
        { timeoutMs: 30_000, what: 'the last writes to reach both replicas' },
      );
    }
    // The source dies: its guest and its mariadbd.
    for (const info of processesMentioning(ctx.instanceDir(dead))) {
      if (isGuest(info) || isMariadbd(info)) process.kill(info.pid, 'SIGKILL');
    }
    for (const info of processesMentioning(volumeOf(ctx, dead))) {
      if (isMariadbd(info)) process.kill(info.pid, 'SIGKILL');
    }
    await waitFor(async () => displayStatusOf((await ctx.row(dead))!) === 'SHUTDOWN', {
      timeoutMs: 30_000,
      what: 'the dead source to show SHUTDOWN',
    });

    const members = await startEject(ctx, dead);
    expect(members).toHaveLength(3);
    // The eject waits for `ahead` to apply what it received; the lock goes once it does.
    await waitFor(
      async () =>
        asRoot(ctx, ahead, async (root) => {
          const [waiting] = await root.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT MASTER_GTID_WAIT%'",
          );
          return (waiting as unknown[]).length > 0;
        }),
      { timeoutMs: 60_000, what: 'the eject to wait for the relay log to be applied' },
    );
    await lock.query('UNLOCK TABLES');
    await lock.end();
    const ended = await waitForTasksToEnd(ctx, members);
    const rows = new Map(ended.map((row) => [row.id, row]));
    expect(rows.get(ahead)!.replicaOfId, rows.get(ahead)!.faultMessage ?? '').toBeNull();
    expect(rows.get(ahead)!.faultMessage).toBeNull();
    expect(rows.get(lagging)!.replicaOfId).toBe(ahead);
    expect(rows.get(lagging)!.faultMessage).toBeNull();
    expect(rows.get(dead)!.faultMessage).toMatch(/^Ejected as the source/);
    // Nothing the dead source sent was lost: the new source has it all, and the lagging
    // replica catches up from it and follows it.
    expect(await idsOn(ctx, ahead, tenant)).toEqual(expect.arrayContaining(last));
    await waitForIds(ctx, lagging, tenant, last);
    const next = await insertOn(ahead, 3);
    await waitForIds(ctx, lagging, tenant, next);
    expect(await tenantWriteError(ctx, lagging, tenant, 300_000)).toBe(
      'ER_OPTION_PREVENTS_STATEMENT',
    );
    await waitForReplicationState(ctx, lagging, 'REPLICATING');
    expect((await ctx.row(ahead))!.replicationState).toBeNull();
  }, 300_000);

  it('detaches the last replica: it takes writes and no longer follows', async () => {
    // After the eject, the original source is the last replica.
    const detached = sourceId;
    const newSource = replicaIds[0]!;
    await startDetach(ctx, detached);
    const [row] = await waitForTasksToEnd(ctx, [detached]);
    expect(row!.faultMessage).toBeNull();
    expect(row!.replicaOfId).toBeNull();
    expect(await tenantWriteError(ctx, detached, tenant, 400_000)).toBeNull();
    const onSource = await insertOn(newSource, 2);
    // It has no source any more, and is writable.
    const status = await asRoot(ctx, detached, async (root) => {
      const [slaves] = await root.query('SHOW SLAVE STATUS');
      const [readOnly] = await root.query('SELECT @@GLOBAL.read_only AS ro');
      return { slaves: slaves as unknown[], readOnly: (readOnly as Array<{ ro: number }>)[0]!.ro };
    });
    expect(status).toEqual({ slaves: [], readOnly: 0 });
    const ids = await idsOn(ctx, detached, tenant);
    expect(ids).toContain(400_000);
    expect(ids.filter((id) => onSource.includes(id))).toEqual([]);
    expect(readFileSync(join(volumeOf(ctx, detached), 'my.cnf'), 'utf8')).not.toMatch(/read_only/);
    // Its account on the source went with it.
    const accounts = await asRoot(ctx, newSource, async (root) => {
      const [found] = await root.query('SELECT User AS user FROM mysql.user WHERE User = ?', [
        `coffer_repl_${detached.replace(/-/g, '')}`,
      ]);
      return found as unknown[];
    });
    expect(accounts).toEqual([]);
  }, 120_000);
});
