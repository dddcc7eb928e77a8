import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';

import {
  guestQueueName,
  type ServiceStatus,
  TASKMANAGER_QUEUE,
  type TaskStatus,
} from '@coffer/contracts';
import { UnrecoverableError, Worker } from 'bullmq';
import { generateGuestSecret } from '@coffer/contracts/crypto';
import { isGuest, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, describe, expect, it } from 'vitest';

import { REDIS_URL, WorkerTestContext } from '../../test/harness';
import { useHandRunWatchdog } from '../../test/watchdog';
import { RedisLease } from './redis-lock';

/** The watchdog's sweeps, run by hand with a clock of our choosing. */

const ctx = new WorkerTestContext({ name: 'watchdog' });
const GRACE_MS = 60_000;

afterAll(() => {
  // Runs after the watchdog stopped and ctx closed (registered before them).
  expect(processesMentioning(ctx.dataDir)).toEqual([]);
});
const watchdog = useHandRunWatchdog(ctx, { orphanGraceMs: GRACE_MS });

async function insertRow(
  taskStatus: TaskStatus,
  serviceStatus: ServiceStatus,
  lastHeartbeatAt: Date | null = null,
): Promise<string> {
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `wd-${randomUUID().slice(0, 8)}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 1,
      taskStatus,
      serviceStatus,
      lastHeartbeatAt,
    },
  });
  return row.id;
}

/** A server (guest and all) for `instanceId`, made by the provider directly (no create job). */
function createServerFor(instanceId: string) {
  return ctx.provider.createServer({
    instanceId,
    projectId: ctx.projectId,
    flavor: { vcpus: 1, ramMb: 512 },
    volumeGb: 1,
    guestInfo: {
      instanceId,
      projectId: ctx.projectId,
      datastoreManager: 'mariadb',
      datastoreVersion: '10.11',
    },
    agentConfig: {
      redisUrl: REDIS_URL,
      rpcQueue: guestQueueName(instanceId),
      conductorStream: ctx.names.conductorStream,
      guestSecret: generateGuestSecret(),
    },
  });
}

describe('heartbeat expiry', () => {
  it('turns silent guests of settled instances SHUTDOWN, and nothing else', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 5_000);
    const fresh = new Date(now.getTime() - 1_000);
    const silent = await insertRow('NONE', 'RUNNING', old);
    const crashedSilent = await insertRow('NONE', 'CRASHED', old);
    const alive = await insertRow('NONE', 'RUNNING', fresh);
    const building = await insertRow('BUILDING', 'BUILDING', old);
    const rebooting = await insertRow('REBOOTING', 'RUNNING', old);
    const failed = await insertRow('NONE', 'FAILED', old);

    const expired = await watchdog.expireSilentGuests(now);
    expect(expired.sort()).toEqual([silent, crashedSilent].sort());
    const statuses = await ctx.prisma.instance.findMany({
      where: { id: { in: [silent, crashedSilent, alive, building, rebooting, failed] } },
      select: { id: true, serviceStatus: true },
    });
    expect(Object.fromEntries(statuses.map((row) => [row.id, row.serviceStatus]))).toEqual({
      [silent]: 'SHUTDOWN',
      [crashedSilent]: 'SHUTDOWN',
      [alive]: 'RUNNING',
      [building]: 'BUILDING',
      [rebooting]: 'RUNNING',
      [failed]: 'FAILED',
    });
    expect(await watchdog.expireSilentGuests(now)).toEqual([]);
  });
});

/** Before the tests that start a taskmanager: a job here must fail without one taking it. */
describe('replication role changes', () => {
  /** Fails a queued job for good without the operation seeing it, as BullMQ does to a job stalled too often. */
  async function failOutsideTheOperation(name: 'replica.promote', instanceId: string) {
    await ctx.enqueue(name, instanceId, { instanceId });
    const worker = new Worker(
      TASKMANAGER_QUEUE,
      () => {
        throw new UnrecoverableError('job stalled more than allowable limit');
      },
      {
        connection: ctx.redis.duplicate({ maxRetriesPerRequest: null }),
        prefix: ctx.names.queuePrefix,
      },
    );
    try {
      await waitFor(
        async () =>
          (await (await ctx.queue.getJob(`${name}-${instanceId}`))?.getState()) === 'failed',
        { timeoutMs: 10_000, what: 'the job to fail' },
      );
    } finally {
      await worker.close();
    }
  }

  it('queues again a change whose job ended without ending it, and ends one that no job drives', async () => {
    // A promote whose job stalled out: replica, source and a sibling are PROMOTING.
    const source = await insertRow('PROMOTING', 'RUNNING', new Date());
    const replica = await insertRow('PROMOTING', 'RUNNING', new Date());
    const sibling = await insertRow('PROMOTING', 'RUNNING', new Date());
    await ctx.prisma.instance.updateMany({
      where: { id: { in: [replica, sibling] } },
      data: { replicaOfId: source },
    });
    await failOutsideTheOperation('replica.promote', replica);
    // A detach whose job is gone (no job of its kind on it or on any member it could belong to).
    const lost = await insertRow('DETACHING', 'RUNNING', new Date());

    const later = Date.now() + GRACE_MS + 1000;
    const first = await watchdog.reconcile(new Date(later));
    expect(first.requeuedRoleChanges).not.toContain(replica);
    expect(first.endedRoleChanges).not.toContain(lost);
    const second = await watchdog.reconcile(new Date(later + GRACE_MS));
    expect(second.requeuedRoleChanges).toEqual([replica]);
    // The source and the sibling are driven by the replica's job: left alone.
    expect(second.endedRoleChanges).toEqual([lost]);
    expect(await (await ctx.queue.getJob(`replica.promote-${replica}`))?.getState()).toBe(
      'waiting',
    );
    for (const id of [source, replica, sibling]) {
      expect((await ctx.row(id))?.taskStatus).toBe('PROMOTING');
    }
    expect(await ctx.row(lost)).toMatchObject({
      taskStatus: 'NONE',
      faultMessage: expect.stringMatching(/change of replication roles was interrupted/),
    });
    // The queued job is alive now: nothing more to do.
    const third = await watchdog.reconcile(new Date(later + 2 * GRACE_MS));
    expect(third.requeuedRoleChanges).toEqual([]);
    expect(third.endedRoleChanges).toEqual([]);
    await ctx.queue.remove(`replica.promote-${replica}`);
  });

  it('starts a dead guest again during a promote, never the guest of a source being ejected', async () => {
    const instanceId = await insertRow('PROMOTING', 'RUNNING', new Date());
    const server = await createServerFor(instanceId);
    await ctx.prisma.instance.update({
      where: { id: instanceId },
      data: { computeServerId: server.serverId, taskStatus: 'EJECTING' },
    });
    const guests = () => processesMentioning(ctx.instanceDir(instanceId)).filter(isGuest);
    const killGuest = async () => {
      const guest = await waitFor(() => guests()[0], { timeoutMs: 30_000, what: 'its guest' });
      process.kill(guest.pid, 'SIGKILL');
      await waitFor(() => guests().length === 0, { timeoutMs: 10_000, what: 'the guest to die' });
    };

    // The source of an eject (no source of its own): declared gone, so it stays down.
    await killGuest();
    expect((await watchdog.superviseGuests()).restarted).not.toContain(instanceId);
    expect(guests()).toEqual([]);

    // A member of a promote: its guest comes back and answers the promote's calls.
    await ctx.prisma.instance.update({
      where: { id: instanceId },
      data: { taskStatus: 'PROMOTING' },
    });
    expect((await watchdog.superviseGuests()).restarted).toContain(instanceId);
    await waitFor(() => guests().length === 1, { timeoutMs: 30_000, what: 'a new guest' });

    await ctx.prisma.instance.update({
      where: { id: instanceId },
      data: { taskStatus: 'NONE', computeServerId: null },
    });
    await ctx.provider.deleteServer(server.serverId);
  });
});

describe('reconciliation', () => {
  it('deletes a server without an instance once it has been orphaned for the grace period', async () => {
    const instanceId = randomUUID();
    await createServerFor(instanceId);
    const now = Date.now();
    expect((await watchdog.reconcile(new Date(now))).deletedServers).toEqual([]);
    expect((await watchdog.reconcile(new Date(now + GRACE_MS / 2))).deletedServers).toEqual([]);
    expect((await watchdog.reconcile(new Date(now + GRACE_MS))).deletedServers).toEqual([
      instanceId,
    ]);
    expect(await ctx.provider.getServer(instanceId)).toBeNull();
    expect(existsSync(ctx.instanceDir(instanceId))).toBe(false);
    expect(processesMentioning(ctx.instanceDir(instanceId))).toEqual([]);
  });

  it('settles builds, deletes and restarts that no job runs any more', async () => {
    const orphanBuild = await insertRow('BUILDING', 'NEW');
    const queuedBuild = await insertRow('BUILDING', 'NEW');
    await ctx.enqueue('instance.create', queuedBuild, { instanceId: queuedBuild });
    const lostDelete = await insertRow('DELETING', 'RUNNING');
    const lostRestart = await insertRow('REBOOTING', 'RUNNING', new Date());

    const later = Date.now() + GRACE_MS + 1000;
    const first = await watchdog.reconcile(new Date(later));
    expect(first.failedBuilds).toEqual([orphanBuild]);
    expect(first.requeuedDeletes).toEqual([lostDelete]);
    expect(first.endedRestarts).toEqual([]);
    const second = await watchdog.reconcile(new Date(later + GRACE_MS));
    expect(second.endedRestarts).toEqual([lostRestart]);
    expect(second.requeuedDeletes).toEqual([]);

    expect(await ctx.row(orphanBuild)).toMatchObject({
      taskStatus: 'BUILDING_ERROR',
      faultMessage:
        'The build was interrupted before its server existed; delete the instance and create it again.',
    });
    expect((await ctx.row(queuedBuild))?.taskStatus).toBe('BUILDING');
    expect(await (await ctx.queue.getJob(`instance.delete-${lostDelete}`))?.getState()).toBe(
      'waiting',
    );
    expect(await ctx.row(lostRestart)).toMatchObject({
      taskStatus: 'NONE',
      faultMessage: 'The restart was interrupted; restart the instance again.',
    });

    // The delete job it queued is an ordinary one: a taskmanager finishes it.
    await ctx.startWorker({ roles: ['taskmanager'] });
    await waitFor(async () => (await ctx.row(lostDelete)) === null, {
      timeoutMs: 30_000,
      what: 'the requeued delete to run',
    });
  });
});

describe('the lease', () => {
  it('lets one holder run at a time and frees itself', async () => {
    const key = `${ctx.names.keyPrefix}:lease-test`;
    const first = new RedisLease(ctx.redis, key, 10_000);
    const second = new RedisLease(ctx.redis, key, 10_000);
    let ranSecond: boolean | null = null;
    const ranFirst = await first.runExclusive(async () => {
      ranSecond = await second.runExclusive(async () => undefined);
    });
    expect(ranFirst).toBe(true);
    expect(ranSecond).toBe(false);
    expect(await second.runExclusive(async () => undefined)).toBe(true);
  });
});
