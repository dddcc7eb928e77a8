import { randomUUID } from 'node:crypto';

import { guestQueueName, type GuestRpcEnvelope } from '@coffer/contracts';
import { generateGuestSecret, guestKeys, signBody } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REDIS_URL } from '../../test/harness';
import { Mutex } from '../lib/mutex';
import { AcceptedRequests } from './accepted-requests';
import { RpcServer, type RpcHandlers } from './rpc-server';

/**
 * Issue 19: a signed RPC body runs once and before it expires. Against real Redis: the guard
 * alone (a stalled job handed back runs again, another job with the same body does not), then
 * the guest's RPC server fed by the control plane's client.
 */

describe('AcceptedRequests', () => {
  let redis: Redis;
  const prefix = `test-accepted-${randomUUID()}`;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const request = (expiresInMs = 60_000) => ({
    requestId: randomUUID(),
    expiresAt: Date.now() + expiresInMs,
  });

  it('takes a request once; the same job handed back (a stall) runs again until it has run', async () => {
    const guard = new AcceptedRequests(redis, prefix);
    const body = request();
    expect(await guard.admit(body, '7')).toEqual({ isAdmitted: true, isRetry: false });
    expect(await guard.admit(body, '7')).toEqual({ isAdmitted: true, isRetry: true });
    expect(await guard.admit(body, '8')).toEqual({
      isAdmitted: false,
      reason: 'replayed: another job carries this request',
    });
    await guard.markDone(body.requestId, '7');
    for (const jobId of ['7', '8'])
      expect(await guard.admit(body, jobId)).toEqual({
        isAdmitted: false,
        reason: 'replayed: this request has already run',
      });
  });

  it('remembers across a guest restart (a new connection and guard), until the request has expired', async () => {
    const body = request(120_000);
    await new AcceptedRequests(redis, prefix).admit(body, '1');
    const restarted = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      const verdict = await new AcceptedRequests(restarted, prefix).admit(body, '2');
      expect(verdict).toMatchObject({ isAdmitted: false });
    } finally {
      restarted.disconnect();
    }
    const expireTime = await redis.pexpiretime(`${prefix}:${body.requestId}`);
    expect(expireTime).toBeGreaterThanOrEqual(body.expiresAt);
    expect(expireTime).toBeLessThanOrEqual(body.expiresAt + 120_000);
  });

  it("refuses an expired request (by Redis's clock) and records nothing for it", async () => {
    const guard = new AcceptedRequests(redis, prefix);
    const body = { requestId: randomUUID(), expiresAt: Date.now() - 5_000 };
    const verdict = await guard.admit(body, '1');
    expect(verdict.isAdmitted).toBe(false);
    expect(verdict.isAdmitted ? '' : verdict.reason).toMatch(/^expired \d+ ms ago$/);
    expect(await redis.exists(`${prefix}:${body.requestId}`)).toBe(0);
  });
});

describe('the RPC server and a replayed job', () => {
  const instanceId = randomUUID();
  const guestSecret = generateGuestSecret();
  const signingKey = guestKeys(guestSecret).signing;
  const queueName = guestQueueName(instanceId);
  const ran: string[] = [];
  let redis: Redis;
  let eventsConnection: Redis;
  let server: RpcServer;
  let client: GuestClient;
  let queue: Queue;
  let queueEvents: QueueEvents;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const handlers = {
      create_database: ({ name }: { name: string }) => {
        ran.push(name);
        return Promise.resolve({
          database: { name, characterSet: 'utf8mb4', collation: 'utf8mb4_general_ci' },
        });
      },
    } as unknown as RpcHandlers;
    server = new RpcServer({
      connection: redis,
      queueName,
      instanceId,
      signingKey,
      handlers,
      mutex: new Mutex(),
      logger: pino({ level: 'silent' }),
    });
    server.start();
    client = new GuestClient({ connection: redis, instanceId, guestSecret });
    queue = new Queue(queueName, { connection: redis });
    queueEvents = new QueueEvents(queueName, { connection: eventsConnection });
    await queueEvents.waitUntilReady();
  });

  afterAll(async () => {
    await server.close(5_000);
    await client.close();
    await queueEvents.close();
    await queue.obliterate({ force: true });
    await queue.close();
    const keys = await redis.keys(`${queueName}:accepted:*`);
    if (keys.length > 0) await redis.del(...keys);
    eventsConnection.disconnect();
    await redis.quit();
  });

  /** Adds a job as anyone who can write to the queue could, and says how it ended. */
  async function addRaw(data: GuestRpcEnvelope, jobId?: string): Promise<string> {
    const job = await queue.add('create_database', data, { jobId });
    try {
      await job.waitUntilFinished(queueEvents, 20_000);
      return 'completed';
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('refuses a signed body added again as a new job, or under its old job id, and runs a re-cast', async () => {
    const jobId = await client.cast(
      'create_database',
      { name: 'first' },
      { jobId: 'create-first' },
    );
    const original = (await queue.getJob(jobId))!;
    await original.waitUntilFinished(queueEvents, 20_000);
    expect(ran).toEqual(['first']);
    const envelope = original.data as GuestRpcEnvelope;

    // The same signed body in a new job, then under the old job id once the original is gone.
    expect(await addRaw(envelope)).toBe('refused: replayed: this request has already run');
    await original.remove();
    expect(await addRaw(envelope, 'create-first')).toBe(
      'refused: replayed: this request has already run',
    );
    expect(ran).toEqual(['first']);

    // The control plane casting again with the same job id (once that id is free) signs a new
    // request: it runs.
    await (await queue.getJob('create-first'))!.remove();
    const recast = await client.cast(
      'create_database',
      { name: 'first' },
      { jobId: 'create-first' },
    );
    await (await queue.getJob(recast))!.waitUntilFinished(queueEvents, 20_000);
    expect(ran).toEqual(['first', 'first']);
  });

  it('refuses a signed request that expired before the guest took it', async () => {
    const sentAt = Date.now() - 60_000;
    const body = JSON.stringify({
      instanceId,
      method: 'create_database',
      params: { name: 'late' },
      requestId: randomUUID(),
      sentAt,
      expiresAt: sentAt + 30_000,
    });
    expect(await addRaw({ body, signature: signBody(signingKey, body) })).toMatch(
      /^refused: expired \d+ ms ago$/,
    );
    expect(ran).not.toContain('late');
  });
});
