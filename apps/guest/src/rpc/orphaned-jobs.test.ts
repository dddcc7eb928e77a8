import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { guestQueueName } from '@coffer/contracts';
import { generateGuestSecret, guestKeys } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REDIS_URL } from '../../test/harness';
import { Mutex } from '../lib/mutex';
import { RpcServer, type RpcHandlers } from './rpc-server';

/**
 * A guest that dies in the middle of a request leaves its job active, locked for a minute. The
 * guest started after it hands such a job back as it starts. Against real Redis, with real
 * deaths: a guest's RPC server in a process of its own (hanging-guest.fixture.ts) takes the
 * job and is killed with SIGKILL in it; then a server on the same queue runs the job long
 * before the dead one's lock would expire. A job handed back once already fails instead.
 */

describe("the jobs of a guest that died, at the next guest's start", () => {
  const instanceId = randomUUID();
  const guestSecret = generateGuestSecret();
  const signingKey = guestKeys(guestSecret).signing;
  const queueName = guestQueueName(instanceId);
  const servers: RpcServer[] = [];
  const children: ChildProcess[] = [];
  let redis: Redis;
  let eventsConnection: Redis;
  let client: GuestClient;
  let queue: Queue;
  let queueEvents: QueueEvents;

  /** This process's guest RPC server, whose create_database returns at once. */
  function startServer(ran: string[]): RpcServer {
    const handlers = {
      create_database: ({ name }: { name: string }) => {
        ran.push(name);
        return Promise.resolve({
          database: { name, characterSet: 'utf8mb4', collation: 'utf8mb4_general_ci' },
        });
      },
    } as unknown as RpcHandlers;
    const server = new RpcServer({
      connection: redis,
      queueName,
      instanceId,
      signingKey,
      handlers,
      mutex: new Mutex(),
      logger: pino({ level: 'silent' }),
    });
    servers.push(server);
    server.start();
    return server;
  }

  /** A guest in a process of its own that takes the job `name` and is killed with SIGKILL in it. */
  async function dieHolding(jobId: string, name: string): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'hanging-guest.fixture.ts'),
        REDIS_URL,
        queueName,
        instanceId,
        signingKey.toString('hex'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (data: Buffer) => {
        out += data.toString();
        if (out.includes(`took ${name}\n`)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the hanging guest exited (${code})`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Dead holding it: still active, and locked by the dead guest's token for most of a minute.
    expect(await (await queue.getJob(jobId))!.getState()).toBe('active');
    expect(await redis.pttl(`${queue.toKey(jobId)}:lock`)).toBeGreaterThan(30_000);
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    client = new GuestClient({ connection: redis, instanceId, guestSecret });
    queue = new Queue(queueName, { connection: redis });
    queueEvents = new QueueEvents(queueName, { connection: eventsConnection });
    await queueEvents.waitUntilReady();
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const server of servers) await server.close(0);
    await client.close();
    await queueEvents.close();
    await queue.obliterate({ force: true });
    await queue.close();
    const keys = await redis.keys(`${queueName}:accepted:*`);
    if (keys.length > 0) await redis.del(...keys);
    eventsConnection.disconnect();
    await redis.quit();
  });

  it('runs a job its dead predecessor held, at once rather than after the lock expires', async () => {
    const jobId = await client.cast('create_database', { name: 'orphan' }, { jobId: 'orphan' });
    await dieHolding(jobId, 'orphan');

    const ran: string[] = [];
    const server = startServer(ran);
    // Well inside the dead guest's lock: only the hand-back can have run it.
    const result = await (await queue.getJob(jobId))!.waitUntilFinished(queueEvents, 20_000);
    expect(result).toMatchObject({ database: { name: 'orphan' } });
    expect(ran).toEqual(['orphan']);
    expect((await queue.getJob(jobId))!.stalledCounter).toBe(1);
    expect(await redis.exists(`${queue.toKey(jobId)}:lock`)).toBe(0);
    await server.close(5_000);
  });

  it('fails a job that was handed back once already, and runs nothing of it', async () => {
    const jobId = await client.cast('create_database', { name: 'poison' }, { jobId: 'poison' });
    await dieHolding(jobId, 'poison');
    // The next guest takes it back, and dies in it too.
    await dieHolding(jobId, 'poison');

    const ran: string[] = [];
    startServer(ran);
    await expect(
      (await queue.getJob(jobId))!.waitUntilFinished(queueEvents, 20_000),
    ).rejects.toThrow('the guest stopped while running this request, more than once');
    expect(ran).toEqual([]);
    expect(await (await queue.getJob(jobId))!.getState()).toBe('failed');
  });
});
