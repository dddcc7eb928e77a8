import { randomUUID } from 'node:crypto';

import { guestQueueName, type GuestRpcEnvelope } from '@coffer/contracts';
import { generateGuestSecret, guestKeys, sealSecret, signBody } from '@coffer/contracts/crypto';
import { GuestRpcError } from '@coffer/guest-client';
import { readPid } from '@coffer/testing/processes';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  GuestHarness,
  instanceFiles,
  isStatus,
  REDIS_URL,
  type TestInstance,
} from '../test/harness';

/**
 * A guest obeys only its own control plane, and only for itself: forged, misaddressed and
 * replayed-for-another-instance jobs are refused and change nothing. And a prepare that
 * fails says why, as a fault the tenant can read.
 */

describe('guest RPC security', () => {
  const harness = new GuestHarness(0.5);
  let instance: TestInstance;
  let queue: Queue;
  let queueEvents: QueueEvents;
  let eventsConnection: Redis;

  beforeAll(async () => {
    instance = await harness.createInstance();
    await harness.prepareApp(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'RUNNING');
    queue = new Queue(guestQueueName(instance.instanceId), { connection: harness.redis });
    eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queueEvents = new QueueEvents(queue.name, { connection: eventsConnection });
    await queueEvents.waitUntilReady();
  });

  afterAll(async () => {
    await queueEvents.close();
    eventsConnection.disconnect();
    await queue.close();
    await harness.close();
  });

  function forgedPrepareBody(instanceId: string, database: string): string {
    return JSON.stringify({
      instanceId,
      method: 'prepare',
      params: { memoryMb: 512, vcpus: 1, databases: [{ name: database }], users: [] },
      requestId: randomUUID(),
      sentAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
  }

  async function sendRaw(
    name: string,
    envelope: GuestRpcEnvelope | Record<string, unknown>,
  ): Promise<string> {
    const job = await queue.add(name, envelope, { attempts: 3 });
    try {
      await job.waitUntilFinished(queueEvents, 20_000);
      return 'completed';
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function databaseExists(name: string): Promise<boolean> {
    const root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
    try {
      const [rows] = await root.query('SHOW DATABASES LIKE ?', [name]);
      return (rows as unknown[]).length > 0;
    } finally {
      await root.end();
    }
  }

  it('refuses a job with a wrong signature', async () => {
    const body = forgedPrepareBody(instance.instanceId, 'forged_sig');
    const outcome = await sendRaw('prepare', { body, signature: 'f'.repeat(64) });
    expect(outcome).toBe('refused: bad signature');
    expect(await databaseExists('forged_sig')).toBe(false);
  });

  it("refuses a job signed with another instance's key", async () => {
    const otherKey = guestKeys(generateGuestSecret()).signing;
    const body = forgedPrepareBody(instance.instanceId, 'forged_key');
    const outcome = await sendRaw('prepare', { body, signature: signBody(otherKey, body) });
    expect(outcome).toBe('refused: bad signature');
    expect(await databaseExists('forged_key')).toBe(false);
  });

  it('refuses a correctly signed job that names another instance', async () => {
    const body = forgedPrepareBody(randomUUID(), 'forged_id');
    const outcome = await sendRaw('prepare', {
      body,
      signature: signBody(guestKeys(instance.guestSecret).signing, body),
    });
    expect(outcome).toMatch(/^refused: addressed to another instance/);
    expect(await databaseExists('forged_id')).toBe(false);
  });

  it('refuses a signed job whose name was changed, and garbage', async () => {
    const serverPid = readPid(instanceFiles(harness.provider, instance.instanceId).serverPidFile);
    const body = JSON.stringify({
      instanceId: instance.instanceId,
      method: 'get_status',
      params: {},
      requestId: randomUUID(),
      sentAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    expect(
      await sendRaw('stop_db', {
        body,
        signature: signBody(guestKeys(instance.guestSecret).signing, body),
      }),
    ).toMatch(/does not match the signed method/);
    expect(await sendRaw('stop_db', { hello: 'world' })).toBe('refused: malformed envelope');
    // Refused jobs are not retried, and the server was not stopped.
    expect(await instance.client.call('get_status', {}, { timeoutMs: 10_000 })).toMatchObject({
      serviceStatus: 'RUNNING',
    });
    expect(readPid(instanceFiles(harness.provider, instance.instanceId).serverPidFile)).toBe(
      serverPid,
    );
  });

  it('refuses a signed job added again (a replay), and one that expired', async () => {
    const jobId = await instance.client.cast(
      'create_database',
      { name: 'replayed_db' },
      { jobId: `replay-${randomUUID()}` },
    );
    const original = (await queue.getJob(jobId))!;
    await original.waitUntilFinished(queueEvents, 20_000);
    expect(await databaseExists('replayed_db')).toBe(true);
    const root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
    await root.query('DROP DATABASE replayed_db').finally(() => root.end());

    // The same signed body, as a new job: refused, the database is not made again.
    expect(await sendRaw('create_database', original.data as GuestRpcEnvelope)).toBe(
      'refused: replayed: this request has already run',
    );
    expect(await databaseExists('replayed_db')).toBe(false);

    const sentAt = Date.now() - 120_000;
    const body = JSON.stringify({
      instanceId: instance.instanceId,
      method: 'create_database',
      params: { name: 'expired_db' },
      requestId: randomUUID(),
      sentAt,
      expiresAt: sentAt + 60_000,
    });
    expect(
      await sendRaw('create_database', {
        body,
        signature: signBody(guestKeys(instance.guestSecret).signing, body),
      }),
    ).toMatch(/^refused: expired \d+ ms ago$/);
    expect(await databaseExists('expired_db')).toBe(false);
  });

  it('still obeys its own control plane afterwards', async () => {
    await expect(
      instance.client.call(
        'prepare',
        { memoryMb: 512, vcpus: 1, databases: [{ name: 'app' }, { name: 'real_one' }], users: [] },
        { timeoutMs: 60_000 },
      ),
    ).resolves.toMatchObject({ serverVersion: expect.stringMatching(/MariaDB/) });
    expect(await databaseExists('real_one')).toBe(true);
  });
});

describe('a prepare that fails', () => {
  const harness = new GuestHarness(0.5);
  afterAll(() => harness.close());

  it('reports FAILED and a fault the tenant can read, and the call fails with the same words', async () => {
    const instance = await harness.createInstance();
    // Sealed for another guest: this guest cannot open it.
    const foreignSeal = sealSecret(
      guestKeys(generateGuestSecret()).sealing,
      'secret123abc',
      'user:app_user',
    );
    const error = await instance.client
      .call(
        'prepare',
        {
          memoryMb: 512,
          vcpus: 1,
          databases: [{ name: 'app' }],
          users: [{ name: 'app_user', host: '%', password: foreignSeal, databases: ['app'] }],
        },
        { timeoutMs: 60_000 },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuestRpcError);
    expect((error as GuestRpcError).guestMessage).toBe(
      'The password of user app_user could not be opened: it was not sealed for this instance.',
    );

    const fault = await instance.conductor.waitFor(
      (message) => message.kind === 'fault',
      10_000,
      'a fault',
    );
    expect(fault).toMatchObject({
      kind: 'fault',
      payload: { operation: 'prepare', message: (error as GuestRpcError).guestMessage },
    });
    await instance.conductor.waitFor(isStatus('FAILED'), 10_000, 'FAILED');
    expect(await instance.client.call('get_status', {}, { timeoutMs: 10_000 })).toMatchObject({
      serviceStatus: 'FAILED',
    });
  });

  it('says which step failed, in the server’s words, for a config the server refuses', async () => {
    const instance = await harness.createInstance();
    const error = await instance.client
      .call(
        'prepare',
        {
          memoryMb: 512,
          vcpus: 1,
          databases: [],
          users: [],
          configOverrides: { no_such_option_anywhere: 1 },
        },
        { timeoutMs: 60_000 },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuestRpcError);
    expect((error as GuestRpcError).guestMessage).toBe(
      "Initializing the database files failed: mariadb-install-db failed: unknown variable 'no_such_option_anywhere=1'",
    );
    const fault = await instance.conductor.waitFor(
      (message) => message.kind === 'fault',
      10_000,
      'a fault',
    );
    expect(fault.kind === 'fault' && fault.payload.details).toBeTruthy();
  });
});
