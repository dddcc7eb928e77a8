import { randomBytes } from 'node:crypto';

import { hasReachedGtid } from '@coffer/contracts';
import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { ChildWorker } from '@coffer/worker/test/child-worker';
import { TEST_TUNING, WorkerTestContext, type CreatedInstance } from '@coffer/worker/test/harness';
import {
  asRoot,
  idsOn,
  socketOf,
  tenantConnection,
  volumeOf,
  waitForIds,
  waitForReplicationState,
  waitForTasksToEnd,
} from '@coffer/worker/test/replication';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHarness, type Harness } from '~/test/harness';

/**
 * What Coffer claims of promote and eject, proven through the API a tenant uses: the tRPC
 * procedures (`instance.create`, `replica.create`, `replica.promote`, `replica.eject`), the
 * worker in a process of its own, real guests and mariadbd. Four writers insert rows at once,
 * each with ids of its own, and record every id whose COMMIT the server acknowledged; when a
 * server refuses (read-only, or gone) a writer tries the next member of the set, so the
 * writers follow whichever server takes writes.
 *
 * - Promote (the source alive): every acknowledged id is on the new source the moment the
 *   promotion ends, and on every member once they caught up.
 * - Eject (the source killed with SIGKILL, guest and server): replication is asynchronous, so
 *   a commit the source acknowledged but sent to no replica can be lost. What eject keeps is
 *   everything any replica had received (its Gtid_IO_Pos when the source died, relay log
 *   included): the elected replica is at least as far as every one of those positions, and
 *   holds every acknowledged id within them.
 */

const ctx = new WorkerTestContext();
const WRITERS = 4;
/**
 * Heartbeats every second, a guest silent for 10 s is gone (for the worker and the web app
 * alike): with two cores shared by several test files, a guest taking the snapshot can miss
 * the harness's 4 s; the eject waits that much longer for the dead source to show SHUTDOWN.
 */
const HEARTBEAT_EXPIRY_SECONDS = 10;
let h: Harness;
let worker: ChildWorker;
let caller: ReturnType<Harness['callerFor']>;
let projectId: string;
let tenant: CreatedInstance;
/** The set's members: [the first source, replica 1, replica 2]. */
let members: string[];

beforeAll(async () => {
  await ctx.setUp();
  // The web app's queue and view of heartbeats are the worker's (read when its modules load).
  process.env.COFFER_QUEUE_PREFIX = ctx.names.queuePrefix;
  process.env.COFFER_HEARTBEAT_EXPIRY_SECONDS = String(HEARTBEAT_EXPIRY_SECONDS);
  h = await createHarness({ database: ctx.db });
  worker = new ChildWorker({
    env: ctx.workerEnv({
      LOG_LEVEL: 'info',
      COFFER_HEARTBEAT_EXPIRY_SECONDS: HEARTBEAT_EXPIRY_SECONDS,
    }),
    names: ctx.names,
    tuning: TEST_TUNING,
  });
  await worker.ready();

  const { owner, project } = await h.createProjectWithOwner('Writers');
  caller = h.callerFor(owner);
  projectId = project.id;
  const flavors = await caller.catalog.flavors();
  const flavor = flavors.find((candidate) => candidate.name === 'm1.tiny') ?? flavors[0]!;
  const password = `Pw${randomBytes(12).toString('hex')}`;
  const created = await caller.instance.create({
    projectId,
    name: 'orders',
    flavorId: flavor.id,
    volumeSizeGb: 1,
    databases: [{ name: 'app' }],
    users: [{ name: 'app_user', password, databases: ['app'] }],
  });
  tenant = { instanceId: created.id, userName: 'app_user', password, databaseName: 'app' };
  await waitForApiStatus(created.id, 'ACTIVE', 180_000);
  const connection = await tenantConnection(ctx, created.id, tenant);
  await connection.query('CREATE TABLE t (id BIGINT PRIMARY KEY, writer INT NOT NULL)');
  await connection.end();

  const replicas = await caller.replica.create({
    projectId,
    sourceInstanceId: created.id,
    count: 2,
  });
  members = [created.id, ...replicas.map((replica) => replica.id)];
  for (const replica of replicas) {
    await waitForApiStatus(replica.id, 'ACTIVE', 240_000);
    await waitForReplicationState(ctx, replica.id, 'REPLICATING');
  }
}, 600_000);

afterAll(async () => {
  if (worker) {
    worker.kill('SIGTERM');
    await worker.exited;
  }
  await h?.close();
  await ctx.close();
  expect(processesMentioning(ctx.dataDir)).toEqual([]);
}, 180_000);

/** The status a tenant sees through the API. */
async function waitForApiStatus(instanceId: string, status: string, timeoutMs: number) {
  const view = await waitFor(
    async () => {
      const found = await caller.instance.get({ projectId, instanceId });
      return found.status === status || found.status === 'ERROR' ? found : null;
    },
    { timeoutMs, intervalMs: 500, what: `instance ${instanceId} to be ${status} through the API` },
  );
  if (view.status !== status)
    throw new Error(`${view.name} is ${view.status}: ${view.faultMessage}`);
  return view;
}

interface Acknowledged {
  id: number;
  /** The server that acknowledged the COMMIT. */
  instanceId: string;
  /** Its GTID (`@@last_gtid` right after the COMMIT); null if that could not be read. */
  gtid: string | null;
}

/**
 * `WRITERS` writers, each inserting its own ids (from `base` + writer × 1 000 000) one
 * transaction at a time, on the first member that takes writes (one that refuses, or is
 * gone, sends the writer to the next one).
 */
function startWriters(base: number) {
  const acknowledged: Acknowledged[] = [];
  let refused = 0;
  let isStopped = false;
  const write = async (writer: number) => {
    let id = base + writer * 1_000_000;
    let at = 0;
    let failuresInRow = 0;
    let connection: Connection | null = null;
    while (!isStopped) {
      const instanceId = members[at]!;
      try {
        connection ??= await tenantConnection(ctx, instanceId, tenant);
        await connection.beginTransaction();
        await connection.query('INSERT INTO t (id, writer) VALUES (?, ?)', [id, writer]);
        await connection.commit();
        const entry: Acknowledged = { id, instanceId, gtid: null };
        acknowledged.push(entry);
        id++;
        failuresInRow = 0;
        const [rows] = await connection.query('SELECT @@last_gtid AS gtid');
        entry.gtid = (rows as Array<{ gtid: string }>)[0]!.gtid || null;
      } catch {
        // Not acknowledged (a COMMIT that failed may or may not have happened: never reused).
        refused++;
        id++;
        await connection?.end().catch(() => undefined);
        connection = null;
        at = (at + 1) % members.length;
        // Every member refused: the set is switching over; try again shortly.
        if (++failuresInRow % members.length === 0)
          await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await connection?.end().catch(() => undefined);
  };
  const running = Array.from({ length: WRITERS }, (_, writer) => write(writer));
  return {
    acknowledged,
    countOn: (instanceId: string) =>
      acknowledged.filter((entry) => entry.instanceId === instanceId).length,
    stop: async () => {
      isStopped = true;
      await Promise.all(running);
      return { acknowledged, refused };
    },
  };
}

/** Root's connection holding `t` locked: the server's SQL thread cannot apply what it receives. */
async function holdReplication(instanceId: string): Promise<Connection> {
  const lock = await mysql.createConnection({
    socketPath: socketOf(ctx, instanceId),
    user: 'root',
  });
  await lock.query(`LOCK TABLES ${tenant.databaseName}.t WRITE`);
  return lock;
}

/** Queries under way on a server whose text starts with one of `prefixes`. */
async function isRunning(instanceId: string, prefixes: string[]): Promise<boolean> {
  return asRoot(ctx, instanceId, async (root) => {
    const [rows] = await root.query('SELECT INFO AS info FROM information_schema.PROCESSLIST');
    return (rows as Array<{ info: string | null }>).some(({ info }) =>
      prefixes.some((prefix) => info?.toUpperCase().startsWith(prefix)),
    );
  });
}

async function replicaStatus(instanceId: string) {
  return asRoot(ctx, instanceId, async (root) => {
    const [rows] = await root.query('SHOW SLAVE STATUS');
    return (rows as Array<{ Gtid_IO_Pos: string; Slave_IO_Running: string }>)[0] ?? null;
  });
}

async function gtidCurrentPos(instanceId: string): Promise<string> {
  return asRoot(ctx, instanceId, async (root) => {
    const [rows] = await root.query('SELECT @@GLOBAL.gtid_current_pos AS pos');
    return (rows as Array<{ pos: string }>)[0]!.pos;
  });
}

describe('promote and eject through the API, under concurrent writers', () => {
  it('promotes a replica while four writers write: every acknowledged id is on the new source and on every member', async () => {
    const [oldSource, promoted, sibling] = members as [string, string, string];
    const writers = startWriters(1_000_000);
    await waitFor(() => writers.countOn(oldSource) >= 40 * WRITERS, {
      timeoutMs: 60_000,
      what: 'the writers to be under way',
    });
    // The replica to be promoted is held back, so it is behind when the promotion starts and
    // must apply what its source acknowledged before it takes writes (MASTER_GTID_WAIT).
    const lock = await holdReplication(promoted);
    const before = writers.countOn(oldSource);
    await waitFor(() => writers.countOn(oldSource) >= before + 100, {
      timeoutMs: 60_000,
      what: 'the held-back replica to fall behind',
    });
    const view = await caller.replica.promote({ projectId, instanceId: promoted });
    expect(view.status).toBe('PROMOTE');
    // Released once the promotion waits for it, or went past it without waiting.
    await waitFor(
      async () =>
        (await isRunning(promoted, ['SELECT MASTER_GTID_WAIT', 'STOP SLAVE', 'STOP ALL SLAVES'])) ||
        (await replicaStatus(promoted)) === null ||
        (await ctx.row(promoted))?.taskStatus !== 'PROMOTING',
      { timeoutMs: 120_000, intervalMs: 100, what: 'the promotion to reach the replica' },
    );
    await lock.query('UNLOCK TABLES');
    await lock.end();
    const ended = await waitForTasksToEnd(ctx, members);
    // The writers found the new source.
    await waitFor(() => writers.countOn(promoted) >= 20 * WRITERS, {
      timeoutMs: 60_000,
      what: 'the writers to write on the new source',
    });
    const { acknowledged, refused } = await writers.stop();
    expect(refused).toBeGreaterThan(0); // the old source did stop taking writes
    const ids = acknowledged.map((entry) => entry.id);

    // On the new source at once: nothing acknowledged by the old source is missing.
    const onNew = new Set(await idsOn(ctx, promoted, tenant));
    const missing = ids.filter((id) => !onNew.has(id));
    expect(missing, `acknowledged but not on the new source: ${missing.length}`).toEqual([]);
    for (const row of ended) expect(row.faultMessage, row.name).toBeNull();
    // The old source and the sibling follow the new source and catch up with everything.
    const rows = new Map(ended.map((row) => [row.id, row]));
    expect(rows.get(promoted)!.replicaOfId).toBeNull();
    expect(rows.get(oldSource)!.replicaOfId).toBe(promoted);
    expect(rows.get(sibling)!.replicaOfId).toBe(promoted);
    for (const id of [oldSource, sibling]) {
      await waitForIds(ctx, id, tenant, ids, 60_000);
      await waitForReplicationState(ctx, id, 'REPLICATING');
    }
    members = [promoted, oldSource, sibling];
  }, 600_000);

  it('ejects a killed source while four writers write: everything any replica had received is kept, by the most advanced replica', async () => {
    const [dead, first, second] = members as [string, string, string];
    const writers = startWriters(10_000_000);
    await waitFor(() => writers.countOn(dead) >= 40 * WRITERS, {
      timeoutMs: 60_000,
      what: 'the writers to be under way',
    });
    // One replica receives but does not apply: the eject must let it apply its relay log.
    const lock = await holdReplication(second);
    const before = writers.countOn(dead);
    await waitFor(() => writers.countOn(dead) >= before + 100, {
      timeoutMs: 60_000,
      what: 'a replica to hold unapplied transactions',
    });

    // The source dies under load: its guest and its server, SIGKILL.
    const doomed = [
      ...processesMentioning(ctx.instanceDir(dead)),
      ...processesMentioning(volumeOf(ctx, dead)),
    ].filter((info) => isGuest(info) || isMariadbd(info));
    expect(doomed.length).toBeGreaterThanOrEqual(2);
    for (const pid of new Set(doomed.map((info) => info.pid))) process.kill(pid, 'SIGKILL');
    // What each replica had received when it died (its I/O thread lost the source).
    const received = new Map<string, string>();
    for (const id of [first, second]) {
      const status = await waitFor(
        async () => {
          const found = await replicaStatus(id);
          return found && found.Slave_IO_Running !== 'Yes' ? found : null;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `replica ${id} to lose its source` },
      );
      received.set(id, status.Gtid_IO_Pos);
    }
    await waitForApiStatus(dead, 'SHUTDOWN', 60_000);

    const view = await caller.replica.eject({ projectId, instanceId: dead });
    expect(view.status).toBe('EJECT');
    await waitFor(
      async () =>
        (await isRunning(second, ['SELECT MASTER_GTID_WAIT', 'STOP SLAVE', 'STOP ALL SLAVES'])) ||
        (await ctx.row(second))?.taskStatus !== 'EJECTING',
      { timeoutMs: 120_000, intervalMs: 100, what: 'the eject to reach the held-back replica' },
    );
    await lock.query('UNLOCK TABLES');
    await lock.end();
    const ended = await waitForTasksToEnd(ctx, members);
    const rows = new Map(ended.map((row) => [row.id, row]));
    expect(rows.get(dead)!.faultMessage).toMatch(/^Ejected as the source/);
    const elected = [first, second].find((id) => rows.get(id)!.replicaOfId === null);
    if (!elected) throw new Error(`no replica took over: ${rows.get(dead)!.faultMessage}`);
    const follower = elected === first ? second : first;
    expect(rows.get(elected)!.faultMessage).toBeNull();
    expect(rows.get(follower)!.replicaOfId).toBe(elected);
    expect(rows.get(follower)!.faultMessage).toBeNull();
    await waitFor(() => writers.countOn(elected) >= 20 * WRITERS, {
      timeoutMs: 60_000,
      what: 'the writers to write on the elected replica',
    });
    const { acknowledged } = await writers.stop();

    // The elected one is the most advanced: it applied all that either replica had received.
    const electedPosition = await gtidCurrentPos(elected);
    for (const [id, position] of received) {
      expect(
        hasReachedGtid(electedPosition, position),
        `${electedPosition} ≥ ${position} (${id})`,
      ).toBe(true);
    }
    // Every acknowledged commit within what a replica received is kept, on the elected one at
    // once and on the other after it caught up; so is everything written since.
    const isReceived = (gtid: string | null) =>
      gtid !== null && [...received.values()].some((position) => hasReachedGtid(position, gtid));
    const kept = acknowledged.filter(
      (entry) => entry.instanceId !== dead || isReceived(entry.gtid),
    );
    // Acknowledged by the source, received by no replica: eject does not promise these.
    const unsent = acknowledged.length - kept.length;
    expect(kept.length).toBeGreaterThan(unsent);
    const onElected = new Set(await idsOn(ctx, elected, tenant));
    const missing = kept.filter((entry) => !onElected.has(entry.id)).map((entry) => entry.id);
    expect(missing, `received by a replica but not on the elected one: ${missing.length}`).toEqual(
      [],
    );
    await waitForIds(
      ctx,
      follower,
      tenant,
      kept.map((entry) => entry.id),
      60_000,
    );
    await waitForReplicationState(ctx, follower, 'REPLICATING');
  }, 600_000);
});
