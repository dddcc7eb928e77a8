import { randomUUID } from 'node:crypto';

import {
  CofferError,
  encodeFailureReason,
  guestQueueName,
  guestRpcBodySchema,
  guestRpcEnvelopeSchema,
} from '@coffer/contracts';
import {
  generateGuestSecret,
  guestKeys,
  isValidSignature,
  openSecret,
} from '@coffer/contracts/crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GuestClient, GuestRpcError, GuestTimeoutError } from './guest-client';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A stand-in guest: checks what the client sends as the real guest does, answers as told. */
function startFakeGuest(
  connection: Redis,
  instanceId: string,
  guestSecret: string,
  answer: (method: string, params: unknown) => unknown,
): Worker {
  const { signing } = guestKeys(guestSecret);
  return new Worker(
    guestQueueName(instanceId),
    async (job) => {
      const envelope = guestRpcEnvelopeSchema.parse(job.data);
      if (!isValidSignature(signing, envelope.body, envelope.signature))
        throw new Error('bad signature');
      const body = guestRpcBodySchema.parse(JSON.parse(envelope.body));
      if (body.instanceId !== instanceId || body.method !== job.name)
        throw new Error('misaddressed');
      return answer(body.method, body.params);
    },
    { connection },
  );
}

/** The body of the first job of the queue whose id passes `isWanted`, once it is there. */
async function waitForJob(queue: Queue, isWanted: (id: string) => boolean) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    const job = jobs.find((candidate) => candidate.id && isWanted(candidate.id));
    if (job)
      return guestRpcBodySchema.parse(JSON.parse(guestRpcEnvelopeSchema.parse(job.data).body));
    if (Date.now() > deadline) throw new Error('no such job');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GuestClient', () => {
  let redis: Redis;
  const workers: Worker[] = [];
  const workerConnections: Redis[] = [];
  const clients: GuestClient[] = [];
  const instanceIds: string[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.close();
    for (const connection of workerConnections.splice(0)) connection.disconnect();
    for (const client of clients.splice(0)) await client.close();
  });

  afterAll(async () => {
    for (const instanceId of instanceIds) {
      const queue = new Queue(guestQueueName(instanceId), { connection: redis });
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await redis.quit();
  });

  function newGuest(
    answer: (method: string, params: unknown) => unknown,
    { withWorker = true } = {},
  ) {
    const instanceId = randomUUID();
    const guestSecret = generateGuestSecret();
    instanceIds.push(instanceId);
    if (withWorker) {
      const connection = redis.duplicate({ maxRetriesPerRequest: null });
      workerConnections.push(connection);
      workers.push(startFakeGuest(connection, instanceId, guestSecret, answer));
    }
    const client = new GuestClient({ connection: redis, instanceId, guestSecret });
    clients.push(client);
    return { instanceId, guestSecret, client };
  }

  it('calls a method and returns the parsed result', async () => {
    const { client } = newGuest((method) =>
      method === 'get_status' ? { serviceStatus: 'RUNNING', serverVersion: '10.11.9' } : {},
    );
    await expect(client.call('get_status', {}, { timeoutMs: 5000 })).resolves.toEqual({
      serviceStatus: 'RUNNING',
      serverVersion: '10.11.9',
    });
  });

  it('casts without waiting, with a deterministic job id when asked', async () => {
    const seen: unknown[] = [];
    const { client } = newGuest(
      (_, params) => {
        seen.push(params);
        return {};
      },
      { withWorker: false },
    );
    const first = await client.cast('stop_db', {}, { jobId: 'stop-once' });
    const second = await client.cast('stop_db', {}, { jobId: 'stop-once' });
    expect(first).toBe('stop-once');
    expect(second).toBe('stop-once');
    const queue = new Queue(guestQueueName(client.instanceId), { connection: redis });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    await queue.close();
  });

  it('signs a request id of its own and an expiry into every body', async () => {
    const { client } = newGuest(() => ({}), { withWorker: false });
    const queue = new Queue(guestQueueName(client.instanceId), { connection: redis });
    const bodyOf = async (jobId: string) => {
      const job = await queue.getJob(jobId);
      return guestRpcBodySchema.parse(JSON.parse(guestRpcEnvelopeSchema.parse(job!.data).body));
    };
    const first = await bodyOf(await client.cast('stop_db', {}, { jobId: 'a' }));
    const second = await bodyOf(await client.cast('stop_db', {}, { jobId: 'b' }));
    expect(first.requestId).not.toBe(second.requestId);
    expect(first.expiresAt - first.sentAt).toBe(24 * 3600_000);
    const short = await bodyOf(await client.cast('stop_db', {}, { jobId: 'c', expiresInMs: 5000 }));
    expect(short.expiresAt - short.sentAt).toBe(5000);
    await expect(
      client.cast('stop_db', {}, { jobId: 'd', expiresInMs: 8 * 24 * 3600_000 }),
    ).rejects.toThrow(RangeError);
    // A call expires a little after its timeout.
    const call = client.call('stop_db', {}, { timeoutMs: 2000 }).catch(() => undefined);
    const callBody = await waitForJob(queue, (id) => !['a', 'b', 'c'].includes(id));
    expect(callBody.expiresAt - callBody.sentAt).toBe(2000 + 5 * 60_000);
    await call;
    await queue.close();
  });

  it('seals passwords so that only this guest opens them, bound to the user name', async () => {
    let received: unknown;
    const { client, guestSecret } = newGuest((_, params) => {
      received = params;
      return { serverVersion: '10.11.9' };
    });
    const sealed = client.sealUserPassword('app_user', 'pa55word-xyz');
    await client.call(
      'prepare',
      {
        memoryMb: 512,
        vcpus: 1,
        databases: [{ name: 'app' }],
        users: [{ name: 'app_user', host: '%', password: sealed, databases: ['app'] }],
      },
      { timeoutMs: 5000 },
    );
    const user = (received as { users: { password: string }[] }).users[0]!;
    expect(user.password).not.toContain('pa55word');
    expect(
      openSecret(guestKeys(guestSecret).sealing, user.password as `v1.${string}`, 'user:app_user'),
    ).toBe('pa55word-xyz');
    expect(() =>
      openSecret(guestKeys(guestSecret).sealing, user.password as `v1.${string}`, 'user:other'),
    ).toThrow();
    expect(() =>
      openSecret(
        guestKeys(generateGuestSecret()).sealing,
        user.password as `v1.${string}`,
        'user:app_user',
      ),
    ).toThrow();
    // Params were parsed on the way out: defaults are filled in.
    expect(received).toMatchObject({ configOverrides: {} });
  });

  it("turns a guest's failure into a GuestRpcError with its message", async () => {
    const { client } = newGuest(() => {
      throw new Error('The database server cannot be restarted: it has not been prepared yet.');
    });
    const error = await client
      .call('restart', {}, { timeoutMs: 5000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuestRpcError);
    expect(error).toMatchObject({
      method: 'restart',
      guestMessage: 'The database server cannot be restarted: it has not been prepared yet.',
    });
    expect((error as Error).message).toContain(
      'restart failed: The database server cannot be restarted',
    );
  });

  it("reads a guest's refusal back into its code, field and message", async () => {
    const { client } = newGuest(() => {
      throw new Error(
        encodeFailureReason(
          new CofferError('CONFLICT', 'A database named app already exists.', { field: 'name' }),
        ),
      );
    });
    const error = await client
      .call('create_database', { name: 'app' }, { timeoutMs: 5000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuestRpcError);
    expect((error as GuestRpcError).failure).toEqual({
      code: 'CONFLICT',
      field: 'name',
      message: 'A database named app already exists.',
    });
    expect((error as GuestRpcError).guestMessage).toBe('A database named app already exists.');
  });

  it("reads an old guest's `CODE[field]: message` refusal back the same way", async () => {
    const { client } = newGuest(() => {
      throw new Error('CONFLICT[name]: A database named app already exists.');
    });
    const error = await client
      .call('create_database', { name: 'app' }, { timeoutMs: 5000 })
      .catch((caught: unknown) => caught);
    expect((error as GuestRpcError).failure).toEqual({
      code: 'CONFLICT',
      field: 'name',
      message: 'A database named app already exists.',
    });
  });

  it("takes a guest's error that is no refusal for the guest's own trouble", async () => {
    const { client } = newGuest(() => {
      throw new Error(
        encodeFailureReason(new CofferError('INTERNAL', 'The database server does not answer.')),
      );
    });
    const error = await client
      .call('create_database', { name: 'app' }, { timeoutMs: 5000 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      failure: null,
      guestMessage: 'The database server does not answer.',
    });
  });

  it('leaves no answered call behind in Redis', async () => {
    const { client } = newGuest(() => ({ databases: [] }));
    await expect(client.call('list_databases', {}, { timeoutMs: 5000 })).resolves.toEqual({
      databases: [],
    });
    const queue = new Queue(guestQueueName(client.instanceId), { connection: redis });
    expect(await queue.getJobCounts('completed', 'waiting', 'active')).toEqual({
      completed: 0,
      waiting: 0,
      active: 0,
    });
    await queue.close();
  });

  it('refuses a result that does not match the method', async () => {
    const { client } = newGuest(() => ({ serviceStatus: 'SLEEPING' }));
    await expect(client.call('get_status', {}, { timeoutMs: 5000 })).rejects.toThrow(
      /unexpected result/,
    );
  });

  it('times out when no guest answers, and withdraws the job', async () => {
    const { client } = newGuest(() => ({}), { withWorker: false });
    const startedAt = Date.now();
    const error = await client
      .call('stop_db', {}, { timeoutMs: 300 })
      .catch((caught: unknown) => caught);
    expect(Date.now() - startedAt).toBeLessThan(3000);
    expect(error).toBeInstanceOf(GuestTimeoutError);
    expect(error).toMatchObject({ method: 'stop_db', timeoutMs: 300, jobState: 'removed' });
    expect((error as Error).message).toMatch(/timed out after 300 ms/);
    const queue = new Queue(guestQueueName(client.instanceId), { connection: redis });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
    await queue.close();
  });

  it('checks params before sending', async () => {
    const { client } = newGuest(() => ({}), { withWorker: false });
    await expect(
      client.cast('prepare', {
        memoryMb: 512,
        vcpus: 1,
        databases: [{ name: 'mysql' }],
        users: [],
      }),
    ).rejects.toThrow(/system schema/);
    expect(
      () =>
        new GuestClient({
          connection: redis,
          instanceId: 'nope',
          guestSecret: generateGuestSecret(),
        }),
    ).toThrow();
  });
});
