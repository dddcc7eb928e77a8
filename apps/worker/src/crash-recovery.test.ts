import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { isHeartbeatFresh } from '@coffer/contracts';
import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  createActiveInstance,
  startBackup,
  startRestore,
  tenantQuery,
  waitForBackupCompleted,
  waitForBackupEnd,
  waitForBuildEnd,
} from '../test/backups';
import { ChildWorker, killChildWorkers } from '../test/child-worker';
import { TEST_HEARTBEAT, TEST_TUNING, WorkerTestContext } from '../test/harness';

/**
 * Acceptance 2 (the worker's part): a worker killed -9 in the middle of a create, then a new
 * worker: the instance still ends ACTIVE (or ERROR), with exactly one guest and one database
 * server, one directory, and a complete row. And a worker stopped with SIGTERM mid-create
 * exits 0 at once, handing the job back for the next worker. A restore whose worker and guest
 * die once its datadir is in place is finished by the next worker from that datadir; and a
 * backup's job handed back after its backup ended leaves the next backup's task alone.
 */

const ctx = new WorkerTestContext();
const children: ChildWorker[] = [];

function spawnWorker(): ChildWorker {
  const child = new ChildWorker({
    env: ctx.workerEnv({ LOG_LEVEL: 'info' }),
    names: ctx.names,
    tuning: TEST_TUNING,
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  await ctx.setUp();
});

afterEach(() => killChildWorkers(children));

afterAll(() => ctx.closeLeavingNothing());

/** Waits until the server of a create in flight exists (its guest is preparing), while the instance is still building. */
async function waitForServerMidCreate(instanceId: string): Promise<void> {
  await waitFor(async () => (await ctx.provider.getServer(instanceId)) !== null, {
    timeoutMs: 30_000,
    intervalMs: 5,
    what: 'the server to exist',
  });
}

async function expectOneHealthyInstance(instanceId: string): Promise<void> {
  const row = (await ctx.row(instanceId))!;
  expect(row).toMatchObject({
    taskStatus: 'NONE',
    serviceStatus: 'RUNNING',
    computeServerId: instanceId,
    host: '127.0.0.1',
  });
  expect(row.port).not.toBeNull();
  expect(row.guestSecretEnc).not.toBeNull();
  expect(readdirSync(join(ctx.dataDir, 'instances'))).toContain(instanceId);
  const processes = processesMentioning(ctx.instanceDir(instanceId));
  expect(processes.filter(isGuest)).toHaveLength(1);
  expect(processes.filter(isMariadbd)).toHaveLength(1);
  expect((await ctx.provider.listServers()).map((server) => server.instanceId)).toContain(
    instanceId,
  );
}

describe('a worker that dies mid-create', () => {
  it('leaves an instance that a new worker finishes, with no orphan and no half-row', async () => {
    const first = spawnWorker();
    await first.ready();
    const { instanceId } = await ctx.createInstance();
    await waitForServerMidCreate(instanceId);
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Nothing of the control plane runs now: the instance is still building.
    expect((await ctx.row(instanceId))?.taskStatus).toBe('BUILDING');
    const guests = processesMentioning(ctx.instanceDir(instanceId)).filter(isGuest);
    expect(guests.length).toBeLessThanOrEqual(1);
    console.info(`killed mid-create with ${guests.length} guest(s) running`);

    const second = spawnWorker();
    await second.ready();
    await waitFor(async () => ['ACTIVE', 'ERROR'].includes(await ctx.displayStatus(instanceId)), {
      timeoutMs: 60_000,
      what: `ACTIVE or ERROR after the restart of the worker\n${second.log()}`,
    });
    expect(await ctx.displayStatus(instanceId)).toBe('ACTIVE');
    await expectOneHealthyInstance(instanceId);
    expect(readdirSync(join(ctx.dataDir, 'instances'))).toEqual([instanceId]);

    // SIGTERM: a clean exit.
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });

    const cleaner = spawnWorker();
    await cleaner.ready();
    await ctx.deleteAndExpectGone(instanceId);
  });

  it('hands its job back at once when stopped with SIGTERM mid-create', async () => {
    const first = spawnWorker();
    await first.ready();
    const { instanceId } = await ctx.createInstance();
    await waitForServerMidCreate(instanceId);
    // The guest is frozen as soon as it runs, so the create cannot finish before the worker
    // stops: its job must still be there to be handed back.
    const guest = await waitFor(
      () => processesMentioning(ctx.instanceDir(instanceId)).find(isGuest),
      { timeoutMs: 30_000, intervalMs: 5, what: 'the guest to run' },
    );
    process.kill(guest.pid, 'SIGSTOP');
    try {
      const stoppingAt = Date.now();
      first.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppingAt).toBeLessThan(10_000);
      expect((await ctx.row(instanceId))?.taskStatus).toBe('BUILDING');
      // Back to waiting: not failed, no attempt used.
      const job = await ctx.queue.getJob(`instance.create-${instanceId}`);
      expect(job, 'the create job').toBeDefined();
      expect(await job!.getState()).toBe('waiting');
      expect(job!.attemptsMade).toBe(0);
    } finally {
      process.kill(guest.pid, 'SIGCONT');
    }

    const second = spawnWorker();
    await second.ready();
    await ctx.waitForActive(instanceId, {
      timeoutMs: 60_000,
      what: `ACTIVE\n${second.log()}`,
    });
    await expectOneHealthyInstance(instanceId);
    await ctx.deleteAndExpectGone(instanceId);
  });
});

describe('a worker and a guest that die mid-restore', () => {
  it("leave a restore that a new worker finishes from the datadir already restored, with exactly the backup's rows", async () => {
    const first = spawnWorker();
    await first.ready();
    const source = await createActiveInstance(ctx);
    const sql = (instanceId: string, query: string) => tenantQuery(ctx, instanceId, source, query);
    await sql(
      source.instanceId,
      'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))',
    );
    await sql(source.instanceId, "INSERT INTO t (v) VALUES ('one'), ('two'), ('three')");
    const backupId = await startBackup(ctx, source.instanceId, 'FULL');
    const backup = await waitForBackupEnd(ctx, backupId);
    expect(backup.status, backup.faultMessage ?? '').toBe('COMPLETED');
    await sql(source.instanceId, "INSERT INTO t (v) VALUES ('after-the-backup')");

    const restoredId = await startRestore(ctx, backupId);
    // The guest's prepare has moved the restored datadir into place but not finished (its
    // database server is starting): the guest and the worker die there.
    const volumeDir = join(ctx.instanceDir(restoredId), 'data');
    await waitFor(() => existsSync(join(volumeDir, 'data', 'mysql')), {
      timeoutMs: 120_000,
      intervalMs: 5,
      what: 'the restored datadir to be in place',
    });
    const guest = processesMentioning(ctx.instanceDir(restoredId)).find(isGuest);
    expect(guest, 'the guest').toBeDefined();
    process.kill(guest!.pid, 'SIGKILL');
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(join(volumeDir, '.coffer-prepared')), 'prepare not finished').toBe(false);
    expect((await ctx.row(restoredId))?.taskStatus).toBe('BUILDING');

    // The new worker's create starts the guest again, which is handed the same prepare job.
    const second = spawnWorker();
    await second.ready();
    const end = await waitForBuildEnd(ctx, restoredId, 240_000);
    expect(end.outcome, end.row.faultMessage ?? '').toBe('ACTIVE');
    expect(await sql(restoredId, 'SELECT v FROM t ORDER BY id')).toEqual([
      { v: 'one' },
      { v: 'two' },
      { v: 'three' },
    ]);
    await expectOneHealthyInstance(restoredId);
    await ctx.deleteAndExpectGone(restoredId);
    await ctx.deleteAndExpectGone(source.instanceId);
  }, 420_000);
});

describe('a backup.create job handed back after its backup ended', () => {
  it("leaves the task of the instance's next backup alone", async () => {
    const first = spawnWorker();
    await first.ready();
    const source = await createActiveInstance(ctx);
    const { instanceId } = source;
    const earlier = await startBackup(ctx, instanceId, 'LOGICAL');
    await waitForBackupCompleted(ctx, instanceId, earlier);
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    // As after a taskmanager killed mid-backup: the backup ended without it, the watchdog
    // ended the task, a next backup began, and the first backup's job is handed back.
    await ctx.enqueue('backup.create', earlier, { backupId: earlier, instanceId });
    const next = await startBackup(ctx, instanceId, 'LOGICAL');
    // No conductor ran meanwhile for longer than the heartbeat expiry: the row's last
    // heartbeat is stale although the guest kept sending them (they wait in the stream). The
    // next backup's wait must not take that for a silent guest.
    await waitFor(
      async () => {
        const row = await ctx.row(instanceId);
        return !isHeartbeatFresh(
          row?.lastHeartbeatAt ?? null,
          new Date(),
          TEST_HEARTBEAT.expirySeconds,
        );
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the instance's last heartbeat to be stale" },
    );
    const second = spawnWorker();
    await second.ready();
    await waitForBackupCompleted(ctx, instanceId, next);
    await ctx.deleteAndExpectGone(instanceId);
  }, 300_000);
});
