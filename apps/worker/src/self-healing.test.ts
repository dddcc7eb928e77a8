import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { instanceEventKinds } from '@coffer/contracts';
import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { asRoot, tenantConnection, volumeOf } from '../test/replication';
import { WorkerTestContext, type CreatedInstance } from '../test/harness';

/**
 * Issue 11, items 5 and 6: a database server or a guest that dies unasked comes back by
 * itself (with a backoff, and a bound after which it gives up with a fault naming the
 * server's error log), each event is recorded on the instance, a deliberate restart is not
 * a crash; and servers run durable (sync_binlog=1, innodb_flush_log_at_trx_commit=1).
 */

const ctx = new WorkerTestContext({ name: 'self-healing' });
let instance: CreatedInstance;

beforeAll(async () => {
  await ctx.setUp();
  // The watchdog starts dead guests again (the harness turns it off for tests that play a dead host).
  await ctx.startWorker({ tuning: { guestSupervisionIntervalMs: 500 } });
  instance = await ctx.createInstance();
  await waitForActive('ACTIVE after create');
  const connection = await tenantConnection(ctx, instance.instanceId, instance);
  try {
    await connection.query('CREATE TABLE t (id INT PRIMARY KEY)');
    await connection.query('INSERT INTO t VALUES (1), (2), (3)');
  } finally {
    await connection.end();
  }
}, 120_000);

afterAll(() => ctx.closeLeavingNothing());

async function waitForActive(what: string, timeoutMs = 60_000): Promise<void> {
  await ctx.waitForActive(instance.instanceId, {
    timeoutMs,
    what,
  });
}

async function eventsOf(kind?: string) {
  return ctx.prisma.instanceEvent.findMany({
    // Without a kind: what happened unasked (not the changes the database records beside them).
    where: { instanceId: instance.instanceId, kind: kind ?? { in: [...instanceEventKinds] } },
    orderBy: { createdAt: 'asc' },
  });
}

function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0]!;
}

function mariadbdOf(): { pid: number } {
  return only(
    processesMentioning(volumeOf(ctx, instance.instanceId)).filter(isMariadbd),
    'one mariadbd',
  );
}

function guestLog(): string {
  return readFileSync(join(ctx.instanceDir(instance.instanceId), 'log', 'guest.log'), 'utf8');
}

async function idsOnInstance(): Promise<number[]> {
  const connection = await tenantConnection(ctx, instance.instanceId, instance);
  try {
    const [rows] = await connection.query('SELECT id FROM t ORDER BY id');
    return (rows as { id: number }[]).map((row) => row.id);
  } finally {
    await connection.end();
  }
}

describe('durability defaults', () => {
  it('runs the server with sync_binlog=1 and innodb_flush_log_at_trx_commit=1', async () => {
    const variables = await asRoot(ctx, instance.instanceId, async (root) => {
      const [rows] = await root.query(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('sync_binlog', 'innodb_flush_log_at_trx_commit', 'log_bin')",
      );
      return Object.fromEntries(
        (rows as { Variable_name: string; Value: string }[]).map((row) => [
          row.Variable_name,
          row.Value,
        ]),
      );
    });
    expect(variables).toEqual({
      sync_binlog: '1',
      innodb_flush_log_at_trx_commit: '1',
      log_bin: 'ON',
    });
  });
});

describe('a database server that dies unasked', () => {
  it('is not counted as a crash when restarted on purpose', async () => {
    const before = mariadbdOf().pid;
    await ctx.restartInstance(instance.instanceId);
    await waitFor(async () => (await ctx.row(instance.instanceId))?.taskStatus === 'NONE', {
      timeoutMs: 60_000,
      what: 'the restart to finish',
    });
    await waitForActive('ACTIVE after the restart');
    expect(mariadbdOf().pid).not.toBe(before);
    // The kill below is then the first restart the guest counts (its event says so).
  });

  it('comes back by itself after kill -9, with its data, and the event is recorded', async () => {
    const killed = mariadbdOf().pid;
    process.kill(killed, 'SIGKILL');
    const event = await waitFor(async () => (await eventsOf('server_restarted'))[0], {
      timeoutMs: 30_000,
      what: 'a server_restarted event',
    });
    expect(event.message).toMatch(/started again \(restart 1 of at most 5 in 10 minutes\)/);
    expect(event.projectId).toBe(ctx.projectId);
    await waitForActive('ACTIVE after the server came back', 30_000);
    expect(mariadbdOf().pid).not.toBe(killed);
    expect(await idsOnInstance()).toEqual([1, 2, 3]);
    expect((await ctx.row(instance.instanceId))!.faultMessage).toBeNull();
    // The deliberate restart before it recorded nothing, and the guest's supervisor never took it for a death.
    expect((await eventsOf()).map((row) => row.kind)).toEqual(['server_restarted']);
    expect(guestLog().match(/died without being asked to stop/g)).toHaveLength(1);
  });

  it('gives up after the restarts of its window, with a fault naming the error log, and a restart brings it back once fixed', async () => {
    const myCnf = join(volumeOf(ctx, instance.instanceId), 'my.cnf');
    const good = readFileSync(myCnf, 'utf8');
    // Behind the guest's back: the server can no longer start.
    appendFileSync(myCnf, 'no_such_option_coffer = 1\n');
    process.kill(mariadbdOf().pid, 'SIGKILL');

    const loop = await waitFor(async () => (await eventsOf('server_crash_loop'))[0], {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'a server_crash_loop event',
    });
    expect(loop.message).toMatch(/keeps stopping/);
    const row = (await waitFor(
      async () => {
        const current = await ctx.row(instance.instanceId);
        return current?.faultMessage && current.serviceStatus === 'CRASHED' ? current : null;
      },
      { timeoutMs: 10_000, what: 'the fault and CRASHED' },
    ))!;
    expect(row.faultMessage).toMatch(/started again \d+ times in 10 minutes/);
    expect(row.faultMessage).toMatch(/no_such_option_coffer/);
    expect(row.faultDetails).toMatch(/last lines of the server's error log/);
    expect(row.faultDetails).toMatch(/\[ERROR\].*no_such_option_coffer/);
    expect(row.faultDetails!.length).toBeLessThanOrEqual(8000);
    expect(await ctx.displayStatus(instance.instanceId)).toBe('SHUTDOWN');
    // It stopped trying: no server process of this instance, and the restarts the window allows
    // (5 in 10 minutes: the one of the test before, and 4 that failed).
    expect(processesMentioning(volumeOf(ctx, instance.instanceId)).filter(isMariadbd)).toEqual([]);
    expect(row.faultMessage).toMatch(/started again 5 times in 10 minutes/);
    expect(guestLog().match(/the database server did not start again/g)).toHaveLength(4);

    // Fixed, and restarted on purpose: running again, with its data.
    writeFileSync(myCnf, good);
    await ctx.restartInstance(instance.instanceId);
    await waitFor(async () => (await ctx.row(instance.instanceId))?.taskStatus === 'NONE', {
      timeoutMs: 60_000,
      what: 'the restart to finish',
    });
    await waitForActive('ACTIVE after the fix and a restart');
    expect(await idsOnInstance()).toEqual([1, 2, 3]);
  });
});

describe('a guest agent that dies unasked', () => {
  it('is started again by the provider, and the instance is ACTIVE again', async () => {
    const guest = only(
      processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isGuest),
      'one guest',
    );
    const server = mariadbdOf().pid;
    process.kill(guest.pid, 'SIGKILL');
    const event = await waitFor(async () => (await eventsOf('guest_restarted'))[0], {
      timeoutMs: 30_000,
      what: 'a guest_restarted event',
    });
    expect(event.message).toMatch(/guest agent stopped without being asked to/);
    await waitFor(
      async () => {
        const guests = processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isGuest);
        return guests.length === 1 && guests[0]!.pid !== guest.pid;
      },
      { timeoutMs: 30_000, what: 'one new guest' },
    );
    await waitForActive('ACTIVE after the guest came back', 30_000);
    // The new guest adopted the server that outlived the old one.
    expect(mariadbdOf().pid).toBe(server);
    expect(await idsOnInstance()).toEqual([1, 2, 3]);
  });

  it('is not started again while its instance is deleted', async () => {
    await ctx.deleteInstance(instance.instanceId);
    await waitFor(async () => (await ctx.row(instance.instanceId)) === null, {
      timeoutMs: 60_000,
      what: 'the row to be deleted',
    });
    expect(processesMentioning(ctx.instanceDir(instance.instanceId))).toEqual([]);
    expect(await ctx.provider.ensureServerRunning(instance.instanceId)).toEqual({
      state: 'missing',
    });
  });
});

describe('a guest agent that dies while its instance is built', () => {
  /** Kills the guest of a new instance once `isDue` says so; then the build must still end ACTIVE. */
  async function killDuringBuild(
    isDue: (guestLog: string) => boolean,
    afterwards?: (guestLog: string) => void,
  ): Promise<void> {
    const building = await ctx.createInstance();
    const dir = ctx.instanceDir(building.instanceId);
    const guest = await waitFor(
      async () => {
        const row = await ctx.row(building.instanceId);
        if (!row?.computeServerId || row.taskStatus !== 'BUILDING') return null;
        const guests = processesMentioning(dir).filter(isGuest);
        if (guests.length !== 1) return null;
        let log = '';
        try {
          log = readFileSync(join(dir, 'log', 'guest.log'), 'utf8');
        } catch {
          return null;
        }
        return isDue(log) ? guests[0] : null;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 20,
        what: 'the guest of a building instance, at its moment',
      },
    );
    process.kill(guest.pid, 'SIGKILL');
    const killedAt = Date.now();
    const event = await waitFor(
      async () =>
        ctx.prisma.instanceEvent.findFirst({
          where: { instanceId: building.instanceId, kind: 'guest_restarted' },
        }),
      { timeoutMs: 30_000, what: 'a guest_restarted event for the building instance' },
    );
    expect(event.message).toMatch(/guest agent stopped without being asked to/);
    // A guest killed mid-prepare: the new guest hands the prepare job back at start (rpc-server.ts).
    await ctx.waitForActive(building.instanceId, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'ACTIVE after the guest came back during the build',
    });
    const row = (await ctx.row(building.instanceId))!;
    expect(row.taskStatus).toBe('NONE');
    expect(row.faultMessage).toBeNull();
    const guests = processesMentioning(dir).filter(isGuest);
    expect(guests).toHaveLength(1);
    expect(guests[0]!.pid).not.toBe(guest.pid);
    console.log(`build ACTIVE ${Date.now() - killedAt} ms after its guest was killed`);
    afterwards?.(readFileSync(join(dir, 'log', 'guest.log'), 'utf8'));
    await ctx.deleteInstance(building.instanceId);
    await waitFor(async () => (await ctx.row(building.instanceId)) === null, {
      timeoutMs: 60_000,
      what: 'the building instance to be deleted',
    });
    expect(processesMentioning(dir)).toEqual([]);
  }

  it('is started again when killed as soon as its server exists, and the build ends ACTIVE', async () => {
    await killDuringBuild(() => true);
  }, 240_000);

  it('is started again when killed while it prepares, and the build ends ACTIVE', async () => {
    await killDuringBuild(
      (log) =>
        log.split('\n').some((line) => line.includes('rpc started') && line.includes('prepare')),
      (log) => {
        // Not after the dead guest's lock expired: the new guest handed the job back as it started.
        const handedBack = log
          .split('\n')
          .filter((line) => line.includes('handed back a request the guest stopped while running'));
        expect(handedBack).toHaveLength(1);
        expect(JSON.parse(handedBack[0]!)).toMatchObject({ jobName: 'prepare' });
      },
    );
  }, 240_000);
});
