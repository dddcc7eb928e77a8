import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { GUEST_AGENT_CONFIG_FILE, guestQueueName } from '@coffer/contracts';
import { guestRedisPassword } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { registerSecret } from '@coffer/testing/secrets';
import { waitFor } from '@coffer/testing/wait';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MASTER_KEY, REDIS_URL, TEST_TUNING, WorkerTestContext } from '../test/harness';
import { loadWorkerEnv } from './env';
import { ChangePublisher } from './events';
import { openGuestSecret } from './guest-secret';
import { allConductorStreams, guestConductorStream } from './conductor/shards';
import { GuestRedisAccess, guestRedisUserName } from './guest-redis-access';
import { createLogger } from './logger';
import { buildSettings } from './settings';
import { Watchdog } from './watchdog/watchdog';

/**
 * Each guest's own Redis user (guest-redis-access.ts), against the real Redis: what its
 * credentials may do and may not, that it goes with the instance and comes back after Redis
 * lost it; and an instance built through the worker with it, whose guest answers calls.
 */

const logger = createLogger('silent');
const NOPERM = /NOPERM/;

describe("a guest's own Redis user", () => {
  const suffix = randomBytes(4).toString('hex');
  const settings = {
    masterKey: MASTER_KEY,
    conductorStream: `conductor-acl-test-${suffix}`,
    conductorShards: 12,
    guestRedisUrl: REDIS_URL,
    guestRedisAcl: 'on' as const,
  };
  const mine = randomUUID();
  const theirs = randomUUID();
  let admin: Redis;
  let access: GuestRedisAccess;
  let guest: Redis;
  const opened: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    access = await GuestRedisAccess.start(admin, settings, logger);
    for (const id of [mine, theirs]) {
      registerSecret(`the guest Redis password of ${id}`, guestRedisPassword(MASTER_KEY, id));
      await access.ensureUser(id);
    }
    guest = new Redis(access.urlFor(mine), { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    for (const thing of opened.splice(0)) await thing.close().catch(() => undefined);
    guest.disconnect();
    for (const id of [mine, theirs]) {
      await access.removeUser(id).catch(() => undefined);
      const queue = new Queue(guestQueueName(id), { connection: admin });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    await admin.del(
      settings.conductorStream,
      guestConductorStream(settings, mine),
      `${guestQueueName(mine)}:accepted:r1`,
    );
    await admin.quit();
  });

  it('is on, and the guest is given a URL with its own user and password', () => {
    expect(access.isEnabled).toBe(true);
    const url = new URL(access.urlFor(mine));
    expect(url.username).toBe(guestRedisUserName(mine));
    expect(decodeURIComponent(url.password)).toBe(guestRedisPassword(MASTER_KEY, mine));
    expect(`${url.host}${url.pathname}`).toBe(
      `${new URL(REDIS_URL).host}${new URL(REDIS_URL).pathname}`,
    );
  });

  it("runs its own queue's jobs as a BullMQ worker and appends to the conductor stream", async () => {
    const queue = new Queue(guestQueueName(mine), { connection: admin });
    opened.push(queue);
    const job = await queue.add('get_status', { n: 1 });
    const failing = await queue.add('get_status', { n: 2 }, { attempts: 2, backoff: 50 });
    const seen: number[] = [];
    const worker = new Worker(
      guestQueueName(mine),
      async (taken) => {
        const { n } = taken.data as { n: number };
        seen.push(n);
        if (n === 2 && taken.attemptsMade === 0) throw new Error('once');
        return { answer: n * 21 };
      },
      { connection: guest, concurrency: 4, lockDuration: 60_000, maxStalledCount: 1 },
    );
    opened.push(worker);
    const errors: Error[] = [];
    worker.on('error', (error) => errors.push(error));
    await waitFor(async () => (await queue.getJob(job.id!))?.returnvalue, {
      timeoutMs: 10_000,
      what: 'the job done by the guest',
    });
    expect((await queue.getJob(job.id!))?.returnvalue).toEqual({ answer: 21 });
    await waitFor(async () => (await queue.getJob(failing.id!))?.returnvalue, {
      timeoutMs: 10_000,
      what: 'the retried job done by the guest',
    });
    expect(seen.filter((n) => n === 2)).toHaveLength(2);
    await worker.close();
    expect(errors).toEqual([]);

    // Its memory of requests taken (accepted-requests.ts), and Redis's clock.
    const accepted = `${guestQueueName(mine)}:accepted:r1`;
    expect(await guest.set(accepted, 'running:1', 'PX', 60_000, 'NX')).toBe('OK');
    expect(await guest.get(accepted)).toBe('running:1');
    expect(await guest.time()).toHaveLength(2);

    // Its shard of the conductor stream (what it is told now), and the stream itself (what a
    // guest made before shards was told).
    const shard = guestConductorStream(settings, mine);
    expect(shard).toMatch(new RegExp(`^${settings.conductorStream}:\\d+$`));
    for (const stream of [shard, settings.conductorStream]) {
      const id = await guest.xadd(stream, 'MAXLEN', '~', '1000', '*', 'body', '{}');
      expect(id).toMatch(/^\d+-\d+$/);
      expect(await admin.xlen(stream)).toBe(1);
    }
  });

  it('cannot append to a shard of the conductor stream that is not its own', async () => {
    const own = guestConductorStream(settings, mine);
    const others = allConductorStreams(settings).filter(
      (stream) => stream !== own && stream !== settings.conductorStream,
    );
    expect(others).toHaveLength(settings.conductorShards - 1);
    for (const stream of others)
      await expect(guest.xadd(stream, '*', 'body', '{}')).rejects.toThrow(NOPERM);
    for (const stream of others) expect(await admin.exists(stream)).toBe(0);
  });

  it('cannot read, overwrite or delete the conductor stream', async () => {
    const shard = guestConductorStream(settings, mine);
    await expect(guest.xrange(shard, '-', '+')).rejects.toThrow(NOPERM);
    await expect(guest.del(shard)).rejects.toThrow(NOPERM);
    await expect(guest.xrange(settings.conductorStream, '-', '+')).rejects.toThrow(NOPERM);
    await expect(guest.xread('STREAMS', settings.conductorStream, '0')).rejects.toThrow(NOPERM);
    await expect(guest.set(settings.conductorStream, 'x')).rejects.toThrow(NOPERM);
    await expect(guest.del(settings.conductorStream)).rejects.toThrow(NOPERM);
    await expect(guest.xgroup('CREATE', settings.conductorStream, 'mine', '0')).rejects.toThrow(
      NOPERM,
    );
  });

  it("is refused another guest's queue and requests", async () => {
    const queue = new Queue(guestQueueName(theirs), { connection: admin });
    opened.push(queue);
    const job = await queue.add('get_status', { secret: 'theirs' });
    const prefix = `bull:${guestQueueName(theirs)}`;
    await expect(guest.hgetall(`${prefix}:${job.id}`)).rejects.toThrow(NOPERM);
    await expect(guest.lrange(`${prefix}:wait`, 0, -1)).rejects.toThrow(NOPERM);
    await expect(guest.lpush(`${prefix}:wait`, 'x')).rejects.toThrow(NOPERM);
    await expect(guest.get(`${guestQueueName(theirs)}:accepted:r1`)).rejects.toThrow(NOPERM);

    // As a BullMQ worker or producer on their queue: refused, and their job stays where it was.
    const asTheirs = new Queue(guestQueueName(theirs), { connection: guest });
    opened.push(asTheirs);
    await expect(asTheirs.add('get_status', {})).rejects.toThrow(NOPERM);
    const errors: Error[] = [];
    const worker = new Worker(guestQueueName(theirs), async () => 'taken', {
      connection: guest,
      autorun: false,
    });
    opened.push(worker);
    worker.on('error', (error) => errors.push(error));
    void worker.run().catch((error: Error) => errors.push(error));
    await waitFor(() => errors.length > 0, { timeoutMs: 10_000, what: 'the worker refused' });
    await worker.close(true);
    expect(String(errors[0])).toMatch(NOPERM);
    expect(await (await queue.getJob(job.id!))?.getState()).toBe('waiting');
  });

  it('is refused every key by pattern, admin commands and pub/sub', async () => {
    await expect(guest.keys('*')).rejects.toThrow(NOPERM);
    await expect(guest.scan(0)).rejects.toThrow(NOPERM);
    await expect(guest.flushall()).rejects.toThrow(NOPERM);
    await expect(guest.flushdb()).rejects.toThrow(NOPERM);
    await expect(guest.config('GET', '*')).rejects.toThrow(NOPERM);
    await expect(guest.call('ACL', 'LIST')).rejects.toThrow(NOPERM);
    await expect(guest.call('ACL', 'SETUSER', guestRedisUserName(mine), '~*')).rejects.toThrow(
      NOPERM,
    );
    await expect(guest.get('coffer:watchdog:reconcile')).rejects.toThrow(NOPERM);
    await expect(guest.publish('coffer-events', '{}')).rejects.toThrow(NOPERM);
    await expect(guest.eval("return redis.call('KEYS', '*')", 0)).rejects.toThrow(
      /can't run this command/,
    );
  });

  it('is gone once removed: its connections closed, its password refused', async () => {
    const gone = randomUUID();
    registerSecret(`the guest Redis password of ${gone}`, guestRedisPassword(MASTER_KEY, gone));
    await access.ensureUser(gone);
    const connection = new Redis(access.urlFor(gone), {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    connection.on('error', () => undefined);
    expect(await connection.time()).toHaveLength(2);
    const closed = new Promise((resolve) => connection.once('end', resolve));
    await access.removeUser(gone);
    await closed;
    expect(await admin.call('ACL', 'GETUSER', guestRedisUserName(gone))).toBeNull();
    const again = admin.duplicate();
    try {
      await expect(
        again.call('AUTH', guestRedisUserName(gone), guestRedisPassword(MASTER_KEY, gone)),
      ).rejects.toThrow(/WRONGPASS/);
    } finally {
      again.disconnect();
    }
    await access.removeUser(gone); // idempotent
  });

  it('off: never touches ACL, guests get the shared URL', async () => {
    const off = await GuestRedisAccess.start(admin, { ...settings, guestRedisAcl: 'off' }, logger);
    const id = randomUUID();
    expect(off.isEnabled).toBe(false);
    expect(off.urlFor(id)).toBe(REDIS_URL);
    await off.ensureUser(id);
    expect(await admin.call('ACL', 'GETUSER', guestRedisUserName(id))).toBeNull();
  });

  it('auto falls back to the shared URL, and on refuses to start, when Redis refuses ACL SETUSER', async () => {
    const user = `coffer-no-acl-${suffix}`;
    const password = randomBytes(16).toString('hex');
    registerSecret('the password of the test user without ACL', password);
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '+@all', '-acl', '~*');
    const url = new URL(REDIS_URL);
    url.username = user;
    url.password = password;
    const limited = new Redis(url.toString(), { maxRetriesPerRequest: null });
    try {
      const auto = await GuestRedisAccess.start(
        limited,
        { ...settings, guestRedisAcl: 'auto' },
        logger,
      );
      expect(auto.isEnabled).toBe(false);
      expect(auto.urlFor(mine)).toBe(REDIS_URL);
      await expect(GuestRedisAccess.start(limited, settings, logger)).rejects.toThrow(
        /COFFER_GUEST_REDIS_ACL=on, but Redis refused ACL SETUSER/,
      );
    } finally {
      limited.disconnect();
      await admin.call('ACL', 'DELUSER', user);
    }
  });
});

describe('an instance built through the worker with guest Redis users on', () => {
  // Ports of its own outside the test files' blocks (24000-31999) and Swift's default (32000-32099).
  const ctx = new WorkerTestContext({
    name: 'guest-redis-access',
    portRange: { min: 32600, max: 32619 },
  });

  beforeAll(async () => {
    await ctx.setUp();
    await ctx.startWorker({ env: { COFFER_GUEST_REDIS_ACL: 'on' } });
  });

  afterAll(() => ctx.closeLeavingNothing());

  async function guestConnections(instanceId: string): Promise<string[]> {
    const list = (await ctx.redis.client('LIST')) as string;
    return list
      .split('\n')
      .filter((line) => line.includes(` user=${guestRedisUserName(instanceId)} `));
  }

  async function callGuest(instanceId: string): Promise<unknown> {
    const row = await ctx.row(instanceId);
    const guest = new GuestClient({
      connection: ctx.redis,
      instanceId,
      guestSecret: openGuestSecret(MASTER_KEY, instanceId, row!.guestSecretEnc!),
    });
    try {
      return await guest.call('get_status', {}, { timeoutMs: 20_000 });
    } finally {
      await guest.close();
    }
  }

  it('reaches ACTIVE as its own user, answers, gets its user back after Redis lost it, and loses it on delete', async () => {
    const { instanceId } = await ctx.createInstance();
    registerSecret(
      `the guest Redis password of ${instanceId}`,
      guestRedisPassword(MASTER_KEY, instanceId),
    );
    await ctx.waitForActive(instanceId, { timeoutMs: 60_000, what: 'ACTIVE after create' });

    const agentConfig = JSON.parse(
      readFileSync(join(ctx.instanceDir(instanceId), 'etc', GUEST_AGENT_CONFIG_FILE), 'utf8'),
    ) as { redisUrl: string };
    expect(new URL(agentConfig.redisUrl).username).toBe(guestRedisUserName(instanceId));
    expect(new URL(agentConfig.redisUrl).password).not.toBe(new URL(REDIS_URL).password);
    expect(await guestConnections(instanceId)).not.toEqual([]);
    expect(await callGuest(instanceId)).toMatchObject({ serviceStatus: 'RUNNING' });

    // Redis loses the user (a restart without an aclfile, or an operator): its connections go.
    await ctx.redis.call('ACL', 'DELUSER', guestRedisUserName(instanceId));
    await waitFor(async () => (await guestConnections(instanceId)).length === 0, {
      timeoutMs: 10_000,
      what: "the guest's connections closed",
    });
    const settings = buildSettings(
      loadWorkerEnv(ctx.workerEnv({ COFFER_GUEST_REDIS_ACL: 'on' })),
      ctx.names,
      TEST_TUNING,
    );
    const watchdog = new Watchdog({
      prisma: ctx.prisma,
      redis: ctx.redis,
      provider: ctx.provider,
      publisher: new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger),
      settings,
      logger: ctx.logger,
      guestAccess: await GuestRedisAccess.start(ctx.redis, settings, ctx.logger),
    });
    try {
      const report = await watchdog.reconcile();
      expect(report.restoredGuestRedisUsers).toEqual([instanceId]);
      expect((await watchdog.reconcile()).restoredGuestRedisUsers).toEqual([]);
    } finally {
      await watchdog.stop();
    }
    // The guest reconnects with the same password and answers again.
    await waitFor(async () => (await guestConnections(instanceId)).length > 0, {
      timeoutMs: 30_000,
      what: 'the guest connected again',
    });
    expect(await callGuest(instanceId)).toMatchObject({ serviceStatus: 'RUNNING' });

    await ctx.deleteAndExpectGone(instanceId);
    expect(await ctx.redis.call('ACL', 'GETUSER', guestRedisUserName(instanceId))).toBeNull();
  });
});
