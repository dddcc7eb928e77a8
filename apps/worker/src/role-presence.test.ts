import { hostname } from 'node:os';

import {
  rolePresenceKeys,
  rolePresenceMember,
  rolePresenceSchema,
  type RolePresence,
} from '@coffer/contracts';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ChildWorker, killChildWorkers } from '../test/child-worker';
import { TEST_HEARTBEAT, TEST_TUNING, WorkerTestContext } from '../test/harness';
import { type WorkerEnvOverrides } from './env';
import { WORKER_ROLES } from './worker';

/**
 * A worker process says in Redis that its roles run (what the console's Admin page reads): live
 * while it beats, down within the heartbeat expiry once killed -9 (its last beat kept), down at
 * once with the time when stopped cleanly; its replacement on this host drops the dead records.
 */

const ctx = new WorkerTestContext();
const keys = rolePresenceKeys(ctx.names.queuePrefix);
const children: ChildWorker[] = [];

function spawnWorker(restarts: number, env: WorkerEnvOverrides = {}): ChildWorker {
  const child = new ChildWorker({
    env: ctx.workerEnv({ LOG_LEVEL: 'info', COFFER_ROLE_RESTARTS: restarts, ...env }),
    names: ctx.names,
    tuning: TEST_TUNING,
  });
  children.push(child);
  return child;
}

async function registry(): Promise<RolePresence[]> {
  const fields = await ctx.redis.hgetall(keys.registry);
  return Object.values(fields).map((value) => rolePresenceSchema.parse(JSON.parse(value)));
}

async function liveRecords(pid: number): Promise<(RolePresence | null)[]> {
  const host = hostname();
  const values = await ctx.redis.mget(
    ...WORKER_ROLES.map((role) => keys.live(rolePresenceMember({ role, host, pid }))),
  );
  return values.map((value) => (value ? rolePresenceSchema.parse(JSON.parse(value)) : null));
}

beforeAll(async () => {
  await ctx.setUp();
});

afterEach(() => killChildWorkers(children));

afterAll(async () => {
  const live = await ctx.redis.keys(`${keys.registry}:*`);
  await ctx.redis.del(keys.registry, ...live);
  await ctx.close();
});

describe('role presence', () => {
  it('shows a worker process’s roles live while it beats, and down within the expiry once it is killed -9, its last beat kept', async () => {
    const child = spawnWorker(2);
    await child.ready();
    const live = await waitFor(
      async () => {
        const records = await liveRecords(child.pid);
        return records.every((record) => record !== null) ? records : null;
      },
      { timeoutMs: 10_000, what: 'the roles to be live' },
    );
    for (const [index, role] of WORKER_ROLES.entries()) {
      expect(live[index]).toMatchObject({
        role,
        host: hostname(),
        pid: child.pid,
        restarts: 2,
        stoppedAt: null,
      });
    }
    const member = rolePresenceMember({ role: 'taskmanager', host: hostname(), pid: child.pid });
    const ttl = await ctx.redis.pttl(keys.live(member));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TEST_HEARTBEAT.expirySeconds * 1000);

    // It keeps beating.
    const firstBeat = live[0]!.lastBeatAt;
    await waitFor(async () => (await liveRecords(child.pid))[0]?.lastBeatAt !== firstBeat, {
      timeoutMs: TEST_HEARTBEAT.intervalSeconds * 1000 * 5,
      what: 'a second beat',
    });

    child.kill('SIGKILL');
    await child.exited;
    const killedAt = Date.now();
    await waitFor(async () => (await liveRecords(child.pid)).every((record) => record === null), {
      timeoutMs: TEST_HEARTBEAT.expirySeconds * 1000 + 2_000,
      what: 'the roles to drop out',
    });
    const records = (await registry()).filter((record) => record.pid === child.pid);
    expect(records.map((record) => record.role).sort()).toEqual([...WORKER_ROLES].sort());
    for (const record of records) {
      expect(record.stoppedAt).toBeNull();
      expect(Date.parse(record.lastBeatAt)).toBeLessThanOrEqual(killedAt);
    }
  });

  it('a replacement started at once after a kill -9 drops the dead records; a worker stopped with SIGTERM records when it stopped', async () => {
    const before = await registry();
    expect(before.filter((record) => record.stoppedAt === null).length).toBeGreaterThan(0);

    // As the supervisor does: the dead process's beat has not expired yet when its replacement
    // starts (a long expiry here, so it surely has not).
    const longExpiry = { COFFER_HEARTBEAT_EXPIRY_SECONDS: 120 };
    const dead = spawnWorker(3, longExpiry);
    await dead.ready();
    await waitFor(async () => (await liveRecords(dead.pid)).every((record) => record !== null), {
      timeoutMs: 10_000,
      what: 'the roles to be live',
    });
    dead.kill('SIGKILL');
    await dead.exited;
    const child = spawnWorker(4, longExpiry);
    await child.ready();
    await waitFor(async () => (await liveRecords(child.pid)).every((record) => record !== null), {
      timeoutMs: 10_000,
      what: 'the roles to be live',
    });
    expect((await registry()).map((record) => record.pid)).toEqual(
      WORKER_ROLES.map(() => child.pid),
    );
    expect(await liveRecords(dead.pid)).toEqual([null, null, null]);

    const stoppingAt = Date.now();
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(await liveRecords(child.pid)).toEqual([null, null, null]);
    const records = await registry();
    expect(records).toHaveLength(WORKER_ROLES.length);
    for (const record of records) {
      expect(record).toMatchObject({ pid: child.pid, restarts: 4 });
      expect(Date.parse(record.stoppedAt!)).toBeGreaterThanOrEqual(stoppingAt - 1);
    }
  });
});
