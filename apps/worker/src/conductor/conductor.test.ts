import { createConnection, createServer, type Server, type Socket } from 'node:net';

import { changeEventSchema, VOLUME_FULL_FAULT_PREFIX, type ChangeEvent } from '@coffer/contracts';
import { generateGuestSecret, guestKeys, signBody } from '@coffer/contracts/crypto';
import { createPrismaClient, type Instance, type Prisma, type PrismaClient } from '@coffer/db';
import { faultFields } from '@coffer/db/domain/faults';
import { testPorts } from '@coffer/testing/ports';
import { waitFor } from '@coffer/testing/wait';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  countingPrisma,
  createConductorGuest,
  heartbeat,
  sendAsGuest,
  testConductor,
  type Guest,
} from '../../test/conductor-guests';
import { displayStatusOf, REDIS_URL, WorkerTestContext } from '../../test/harness';
import { loadWorkerEnv } from '../env';
import { ChangePublisher } from '../events';
import { buildSettings } from '../settings';
import { startWorker, type RunningWorker } from '../worker';
import { applyUnchangedHeartbeats, type HeartbeatMessage } from './apply-heartbeats';
import { REBASED_GUEST_ORDER } from './apply-message';
import { arrivalTimeOf, Conductor } from './conductor';

/**
 * Acceptance 3 and 4: forged or stale messages change nothing; a message is acked only after
 * its write, so one whose write failed stays pending and is applied after recovery.
 */

const ctx = new WorkerTestContext({ name: 'conductor' });
let subscriber: Redis;
const events: ChangeEvent[] = [];
const DAY_MS = 24 * 3600_000;

let guestA: Guest;
let guestB: Guest;

const createGuestRow = () => createConductorGuest(ctx);

/** Adds an entry as a guest would (conductor-guests.ts: sendAsGuest), by default to the stream itself. */
const send = (
  message: Record<string, unknown> | string,
  signingSecret: string,
  stream = ctx.names.conductorStream,
) => sendAsGuest(ctx, message, signingSecret, stream);

async function waitForAck(id: string): Promise<void> {
  await waitFor(() => ctx.isAckedByConductor(id), {
    timeoutMs: 10_000,
    what: `entry ${id} to be acked`,
  });
}

async function sendAndWaitForAck(
  message: Record<string, unknown> | string,
  signingSecret: string,
): Promise<void> {
  await waitForAck(await send(message, signingSecret));
}

/** Sends on `stream` and waits until the conductor's group has acked that entry. */
async function sendAndWaitForAckOn(
  stream: string,
  message: Record<string, unknown>,
  signingSecret: string,
): Promise<void> {
  const id = await send(message, signingSecret, stream);
  await waitFor(
    async () =>
      ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(id) === true &&
      (
        (await ctx.redis.xpending(stream, ctx.names.conductorGroup, '-', '+', 100)) as string[][]
      ).every(([pending]) => pending !== id),
    { timeoutMs: 10_000, what: `entry ${id} acked` },
  );
}

/** Until no entry of `stream` is pending in the conductor's group (delivered and not acked). */
async function waitForNothingPending(stream: string): Promise<void> {
  await waitFor(
    async () => ((await ctx.redis.xpending(stream, ctx.names.conductorGroup)) as [number])[0] === 0,
    { timeoutMs: 10_000, what: `nothing pending on ${stream}` },
  );
}

async function rowOf(guest: Guest): Promise<Instance> {
  return (await ctx.row(guest.instanceId))!;
}

beforeAll(async () => {
  await ctx.setUp();
  subscriber = new Redis(REDIS_URL);
  subscriber.on('message', (_channel: string, message: string) =>
    events.push(changeEventSchema.parse(JSON.parse(message))),
  );
  await subscriber.subscribe(ctx.names.eventsChannel);
  await ctx.startWorker({ roles: ['conductor'] });
});

afterAll(async () => {
  subscriber?.disconnect();
  await ctx.close();
});

beforeEach(async () => {
  guestA = await createGuestRow();
  guestB = await createGuestRow();
  events.length = 0;
});

describe('the conductor', () => {
  it('applies a newer heartbeat and publishes the change', async () => {
    const before = await rowOf(guestA);
    const message = heartbeat(guestA, { serviceStatus: 'SHUTDOWN' });
    await sendAndWaitForAck(message, guestA.secret);
    const after = await rowOf(guestA);
    expect(after.serviceStatus).toBe('SHUTDOWN');
    expect(after.lastSentAt?.getTime()).toBe(message.sentAt);
    expect(after.lastSeq).toBe(BigInt(guestA.seq));
    expect(after.lastHeartbeatAt!.getTime()).toBeGreaterThanOrEqual(
      before.lastHeartbeatAt!.getTime(),
    );
    await waitFor(() => events.some((event) => event.instanceId === guestA.instanceId), {
      timeoutMs: 5000,
      what: 'a change event',
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'instance.changed',
        instanceId: guestA.instanceId,
        projectId: ctx.projectId,
      }),
    ]);

    // A heartbeat that changes nothing users see moves the heartbeat on without an event.
    events.length = 0;
    await sendAndWaitForAck(heartbeat(guestA, { serviceStatus: 'SHUTDOWN' }), guestA.secret);
    expect((await rowOf(guestA)).lastSeq).toBe(BigInt(guestA.seq));
    await sendAndWaitForAck(heartbeat(guestA, { serviceStatus: 'RUNNING' }), guestA.secret);
    await waitFor(() => events.length === 1, { timeoutMs: 5000, what: 'one change event' });
    expect(events).toHaveLength(1);
  });

  it('applies a fault', async () => {
    guestA.seq++;
    await sendAndWaitForAck(
      {
        kind: 'fault',
        instanceId: guestA.instanceId,
        sentAt: Date.now(),
        epoch: guestA.epoch,
        seq: guestA.seq,
        payload: {
          operation: 'prepare',
          message: 'Starting the database server failed: port in use',
          details: 'log tail',
        },
      },
      guestA.secret,
    );
    const row = await rowOf(guestA);
    expect(row).toMatchObject({
      faultMessage: 'Starting the database server failed: port in use',
      faultDetails: 'log tail',
      faultCode: null,
    });
    expect(row.faultAt).toBeInstanceOf(Date);
  });

  it("applies the volume's usage and its full fault, and clears only that fault", async () => {
    const beat = (volume: Record<string, unknown> | undefined) => {
      const message = heartbeat(guestA, { serviceStatus: 'RUNNING' });
      return { ...message, payload: { ...(message.payload as object), volume } };
    };
    const full = `${VOLUME_FULL_FAULT_PREFIX}: 1.0 GiB of 1.0 GiB used; grow it`;
    await sendAndWaitForAck(beat({ usedBytes: 1000, totalBytes: 4000 }), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      volumeUsedBytes: 1000n,
      volumeTotalBytes: 4000n,
      faultMessage: null,
    });
    events.length = 0;
    await sendAndWaitForAck(
      beat({ usedBytes: 4000, totalBytes: 4000, fault: full }),
      guestA.secret,
    );
    expect(await rowOf(guestA)).toMatchObject({
      volumeUsedBytes: 4000n,
      faultMessage: full,
      faultCode: 'VOLUME_FULL',
    });
    await waitFor(() => events.length === 1, { timeoutMs: 5000, what: 'a change event' });
    // The same fault again: no new change.
    await sendAndWaitForAck(
      beat({ usedBytes: 4000, totalBytes: 4000, fault: full }),
      guestA.secret,
    );
    // Grown: the fault clears; a beat without a volume report (an older guest) changes nothing.
    await sendAndWaitForAck(beat({ usedBytes: 4000, totalBytes: 8000 }), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      volumeTotalBytes: 8000n,
      faultMessage: null,
      faultCode: null,
    });
    await sendAndWaitForAck(beat(undefined), guestA.secret);
    expect((await rowOf(guestA)).volumeTotalBytes).toBe(8000n);

    // Another fault is never cleared by a volume report.
    await ctx.prisma.instance.update({
      where: { id: guestA.instanceId },
      data: faultFields({ message: 'Starting the database server failed' }),
    });
    await sendAndWaitForAck(beat({ usedBytes: 10, totalBytes: 8000 }), guestA.secret);
    expect((await rowOf(guestA)).faultMessage).toBe('Starting the database server failed');
  });

  it("clears a fault by its code, not its words: another fault stays, even one worded like a full volume's", async () => {
    const beat = (volume: Record<string, unknown>) => {
      const message = heartbeat(guestA, { serviceStatus: 'RUNNING' });
      return { ...message, payload: { ...(message.payload as object), volume } };
    };
    const fault = (text: string) => {
      guestA.seq++;
      return {
        kind: 'fault',
        instanceId: guestA.instanceId,
        sentAt: Date.now(),
        epoch: guestA.epoch,
        seq: guestA.seq,
        payload: { operation: 'restore', message: text },
      };
    };
    // The volume fills: its fault, VOLUME_FULL. Then the guest reports another fault, which
    // replaces it and its code: the volume's room coming back must not clear it.
    await sendAndWaitForAck(
      beat({ usedBytes: 4000, totalBytes: 4000, fault: `${VOLUME_FULL_FAULT_PREFIX}: grow it` }),
      guestA.secret,
    );
    expect((await rowOf(guestA)).faultCode).toBe('VOLUME_FULL');
    await sendAndWaitForAck(fault('The restore failed: mariadb-backup exited 1'), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      faultMessage: 'The restore failed: mariadb-backup exited 1',
      faultCode: null,
    });
    await sendAndWaitForAck(beat({ usedBytes: 10, totalBytes: 8000 }), guestA.secret);
    expect((await rowOf(guestA)).faultMessage).toBe('The restore failed: mariadb-backup exited 1');

    // A fault whose words begin as a full volume's, but is another one (no code): it stays too.
    // (The conductor matched the text before, and cleared this one.)
    const worded = `${VOLUME_FULL_FAULT_PREFIX}, so the restore could not finish: restore again on a bigger volume.`;
    await sendAndWaitForAck(fault(worded), guestA.secret);
    await sendAndWaitForAck(beat({ usedBytes: 20, totalBytes: 8000 }), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      volumeUsedBytes: 20n,
      faultMessage: worded,
      faultCode: null,
    });
  });

  it('changes nothing for a message with a wrong HMAC', async () => {
    const before = await rowOf(guestA);
    await sendAndWaitForAck(heartbeat(guestA), generateGuestSecret());
    const id = await ctx.redis.xadd(
      ctx.names.conductorStream,
      '*',
      'body',
      JSON.stringify(heartbeat(guestA)),
      'sig',
      'not-hex',
    );
    await waitForAck(id!);
    expect(await rowOf(guestA)).toEqual(before);
  });

  it('stores a signed metrics sample once and publishes instance.metrics; a forged or malformed one is dropped', async () => {
    const metrics = (guest: Guest, payload: Record<string, unknown>) => ({
      kind: 'metrics',
      instanceId: guest.instanceId,
      sentAt: Date.now(),
      epoch: guest.epoch,
      seq: ++guest.seq,
      payload,
    });
    const samplesOf = (guest: Guest) =>
      ctx.prisma.instanceMetric.findMany({ where: { instanceId: guest.instanceId } });
    const rowBefore = await rowOf(guestA);

    // Forged: a wrong key, instance A's key naming B, a payload that is not a sample.
    await sendAndWaitForAck(metrics(guestA, { cpuPercent: 99 }), generateGuestSecret());
    await sendAndWaitForAck(metrics(guestB, { cpuPercent: 99 }), guestA.secret);
    await sendAndWaitForAck(metrics(guestA, { cpuPercent: -5 }), guestA.secret);
    expect(await samplesOf(guestA)).toEqual([]);
    expect(await samplesOf(guestB)).toEqual([]);

    const sample = metrics(guestA, { cpuPercent: 12.5, connections: 7, memoryBytes: 2 ** 40 });
    await sendAndWaitForAck(sample, guestA.secret);
    // The same message again (a redelivery) stores nothing more.
    await sendAndWaitForAck(sample, guestA.secret);
    const stored = await samplesOf(guestA);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      at: new Date(sample.sentAt),
      cpuPercent: 12.5,
      connections: 7,
      memoryBytes: BigInt(2 ** 40),
      queriesPerSec: null,
    });
    await waitFor(() => events.some((event) => event.type === 'instance.metrics'), {
      timeoutMs: 5000,
      what: 'an instance.metrics event',
    });
    expect(events.filter((event) => event.type === 'instance.metrics')).toEqual([
      expect.objectContaining({ instanceId: guestA.instanceId, projectId: ctx.projectId }),
    ]);
    // A sample is not a status: the instance's row (and its order) did not move.
    expect(await rowOf(guestA)).toEqual(rowBefore);
  });

  it("changes nothing for a message signed with instance A's key that names instance B", async () => {
    const beforeA = await rowOf(guestA);
    const beforeB = await rowOf(guestB);
    await sendAndWaitForAck(heartbeat(guestB), guestA.secret);
    expect(await rowOf(guestA)).toEqual(beforeA);
    expect(await rowOf(guestB)).toEqual(beforeB);
  });

  it('changes nothing for a stale message (an older epoch, or the same epoch and an older seq)', async () => {
    const before = await rowOf(guestA);
    // An earlier boot of the guest, whatever its seq and however late its clock says it was sent.
    await sendAndWaitForAck(
      { ...heartbeat(guestA), epoch: 2, seq: 999, sentAt: Date.now() + 60_000 },
      guestA.secret,
    );
    // Same epoch as stored, same or lower seq (a replay).
    await sendAndWaitForAck({ ...heartbeat(guestA), seq: 10 }, guestA.secret);
    await sendAndWaitForAck({ ...heartbeat(guestA), seq: 3 }, guestA.secret);
    // A message that predates epochs (no epoch: 0).
    const { epoch: _epoch, ...withoutEpoch } = heartbeat(guestA);
    await sendAndWaitForAck(withoutEpoch, guestA.secret);
    expect(await rowOf(guestA)).toEqual(before);

    // A message applied once and delivered again changes nothing the second time.
    const message = heartbeat(guestA, { serviceStatus: 'CRASHED' });
    await sendAndWaitForAck(message, guestA.secret);
    const applied = await rowOf(guestA);
    expect(applied.serviceStatus).toBe('CRASHED');
    await sendAndWaitForAck(message, guestA.secret);
    expect(await rowOf(guestA)).toEqual(applied);
  });

  it('drops a message sent a day ahead (or behind), and the real heartbeats after it still apply', async () => {
    const before = await rowOf(guestA);
    // Signed with the instance's own key and next in its order, but from a clock a day off.
    await sendAndWaitForAck(
      heartbeat(guestA, { serviceStatus: 'CRASHED', sentAt: Date.now() + DAY_MS }),
      guestA.secret,
    );
    await sendAndWaitForAck(
      heartbeat(guestA, { serviceStatus: 'CRASHED', sentAt: Date.now() - DAY_MS }),
      guestA.secret,
    );
    expect(await rowOf(guestA)).toEqual(before);
    for (let beat = 0; beat < 3; beat++) {
      const message = heartbeat(guestA, { serviceStatus: 'BLOCKED' });
      await sendAndWaitForAck(message, guestA.secret);
      const row = await rowOf(guestA);
      expect(row).toMatchObject({ serviceStatus: 'BLOCKED', lastSeq: BigInt(guestA.seq) });
      expect(row.lastSentAt?.getTime()).toBe(message.sentAt);
    }
  });

  it("orders by the guest's epoch and seq, not its clock: a clock that jumps forward then back keeps the instance ACTIVE", async () => {
    // Offsets of the guest's clock, beat after beat: steps within the skew window and back,
    // and one a day ahead (that beat is dropped, the next ones are not).
    for (const offset of [0, 120_000, 125_000, DAY_MS, 0, -90_000, 1_000]) {
      const sentBefore = Date.now();
      const message = heartbeat(guestA, { serviceStatus: 'RUNNING', sentAt: Date.now() + offset });
      await sendAndWaitForAck(message, guestA.secret);
      const row = await rowOf(guestA);
      expect(displayStatusOf(row)).toBe('ACTIVE');
      if (offset === DAY_MS) {
        expect(row.lastSeq).toBe(BigInt(guestA.seq - 1));
        continue;
      }
      expect(row.lastSeq, `the beat with the clock ${offset} ms off`).toBe(BigInt(guestA.seq));
      expect(row.lastHeartbeatAt!.getTime()).toBeGreaterThanOrEqual(sentBefore);
    }
  });

  it("takes a new boot's messages (a higher epoch, seq from 0); a forged huge epoch holds the order only until a restart re-bases it", async () => {
    guestA.epoch = 4;
    guestA.seq = -1;
    await sendAndWaitForAck(heartbeat(guestA, { serviceStatus: 'RUNNING' }), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      serviceStatus: 'RUNNING',
      lastEpoch: 4n,
      lastSeq: 0n,
    });

    // Signed with the instance's key, sent now, with the highest place in the order there is.
    await sendAndWaitForAck(
      {
        ...heartbeat(guestA, { serviceStatus: 'SHUTDOWN' }),
        epoch: Number.MAX_SAFE_INTEGER,
        seq: Number.MAX_SAFE_INTEGER,
      },
      guestA.secret,
    );
    await sendAndWaitForAck(heartbeat(guestA, { serviceStatus: 'RUNNING' }), guestA.secret);
    expect((await rowOf(guestA)).serviceStatus).toBe('SHUTDOWN');

    // What instance.restart writes first (restart-instance.ts): the guest's next message is taken.
    await ctx.prisma.instance.update({
      where: { id: guestA.instanceId },
      data: REBASED_GUEST_ORDER,
    });
    await sendAndWaitForAck(heartbeat(guestA, { serviceStatus: 'RUNNING' }), guestA.secret);
    expect(await rowOf(guestA)).toMatchObject({
      serviceStatus: 'RUNNING',
      lastEpoch: 4n,
      lastSeq: BigInt(guestA.seq),
    });
  });

  it('acks and drops what is unparsable or names an unknown instance', async () => {
    const before = await rowOf(guestA);
    await sendAndWaitForAck('{not json', guestA.secret);
    await sendAndWaitForAck(
      { instanceId: guestA.instanceId, kind: 'heartbeat', sentAt: 'later' },
      guestA.secret,
    );
    await sendAndWaitForAck({ ...heartbeat(guestA), kind: 'takeover' }, guestA.secret);
    await sendAndWaitForAck(
      { ...heartbeat(guestA), instanceId: '00000000-0000-4000-8000-000000000000' },
      guestA.secret,
    );
    const id = await ctx.redis.xadd(ctx.names.conductorStream, '*', 'something', 'else');
    await waitForAck(id!);
    expect(await rowOf(guestA)).toEqual(before);
  });

  it('claims and applies what a dead conductor left pending', async () => {
    // A stream of its own: a conductor that read an entry and died before acking it, then ours starts.
    const stream = `${ctx.names.conductorStream}-reclaim`;
    await ctx.redis.xgroup('CREATE', stream, ctx.names.conductorGroup, '0', 'MKSTREAM');
    const message = heartbeat(guestA, { serviceStatus: 'BLOCKED' });
    await send(message, guestA.secret, stream);
    await ctx.redis.xreadgroup(
      'GROUP',
      ctx.names.conductorGroup,
      'dead-consumer',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );
    expect(((await ctx.redis.xpending(stream, ctx.names.conductorGroup)) as [number])[0]).toBe(1);

    const worker = await startWorker({
      roles: ['conductor'],
      prisma: ctx.prisma,
      redis: ctx.redis,
      logger: ctx.logger,
      env: ctx.workerEnv(),
      names: { ...ctx.names, conductorStream: stream },
      tuning: {
        conductorBlockMs: 200,
        conductorReclaimIdleMs: 500,
        conductorReclaimIntervalMs: 200,
      },
    });
    try {
      await waitFor(async () => (await rowOf(guestA)).serviceStatus === 'BLOCKED', {
        timeoutMs: 15_000,
        what: 'the reclaimed message to be applied',
      });
      await waitForNothingPending(stream);
    } finally {
      await worker.stop();
      await ctx.redis.del(stream);
    }
  });
});

describe('a batch', () => {
  it("writes many instances' heartbeats that change nothing in one statement, each row as its own guest said; a stale one changes nothing; a status change in between is applied in order and published", async () => {
    const stream = `${ctx.names.conductorStream}-batch`;
    const quiet: Guest[] = [];
    for (let index = 0; index < 10; index++) quiet.push(await createGuestRow());
    const stale = guestA;
    const changing = guestB;
    const staleBefore = await rowOf(stale);
    const beat = (
      guest: Guest,
      serviceStatus: string,
      usedBytes: number,
    ): Record<string, unknown> => {
      const message = heartbeat(guest, { serviceStatus });
      return {
        ...message,
        payload: { ...(message.payload as object), volume: { usedBytes, totalBytes: 8000 } },
      };
    };
    const sample = (guest: Guest, cpuPercent: number) => ({
      kind: 'metrics',
      instanceId: guest.instanceId,
      sentAt: Date.now(),
      epoch: guest.epoch,
      seq: ++guest.seq,
      payload: { cpuPercent, connections: 3 },
    });

    // All in the stream before the conductor reads it: one read, one batch.
    const changes = [
      beat(changing, 'RUNNING', 10),
      beat(changing, 'SHUTDOWN', 20),
      beat(changing, 'SHUTDOWN', 30),
    ];
    await send(changes[0]!, changing.secret, stream);
    const beats = new Map<string, ReturnType<typeof beat>>();
    for (const [index, guest] of quiet.entries()) {
      const message = beat(guest, 'RUNNING', 1000 + index);
      beats.set(guest.instanceId, message);
      await send(message, guest.secret, stream);
      const metrics = sample(guest, index + 0.5);
      await send(metrics, guest.secret, stream);
      if (index === 1) await send(metrics, guest.secret, stream); // delivered twice
      if (index === 4) await send(changes[1]!, changing.secret, stream);
    }
    // Stale (seq 5, the row has 10), and a forged status change (A's key naming a quiet guest).
    await send({ ...beat(stale, 'RUNNING', 1), seq: 5 }, stale.secret, stream);
    await send(beat(quiet[0]!, 'CRASHED', 1), stale.secret, stream);
    const lastId = await send(changes[2]!, changing.secret, stream);

    const { client, calls } = countingPrisma(ctx.prisma);
    const conductor = testConductor(ctx, {
      stream,
      prisma: client,
    });
    const startedAt = new Date();
    await conductor.start();
    try {
      await waitFor(
        async () => ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(lastId),
        { timeoutMs: 10_000, what: 'every entry delivered' },
      );
      await waitForNothingPending(stream);
    } finally {
      await conductor.stop();
      await ctx.redis.del(stream);
    }

    for (const [index, guest] of quiet.entries()) {
      const sent = beats.get(guest.instanceId)!;
      const row = await rowOf(guest);
      expect(row).toMatchObject({
        serviceStatus: 'RUNNING',
        lastEpoch: 3n,
        lastSeq: BigInt(sent.seq as number),
        volumeUsedBytes: BigInt(1000 + index),
        volumeTotalBytes: 8000n,
      });
      expect(row.lastSentAt?.getTime()).toBe(sent.sentAt);
      expect(row.lastHeartbeatAt!.getTime()).toBeGreaterThanOrEqual(startedAt.getTime());
      expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(startedAt.getTime());
    }
    expect(await rowOf(stale)).toEqual(staleBefore);
    expect(await rowOf(changing)).toMatchObject({
      serviceStatus: 'SHUTDOWN',
      lastSeq: BigInt(changes[2]!.seq as number),
      volumeUsedBytes: 30n,
    });

    const quietIds = quiet.map((guest) => guest.instanceId).sort();
    const samples = await ctx.prisma.instanceMetric.findMany({
      where: { instanceId: { in: quietIds } },
    });
    expect(samples.map((row) => row.instanceId).sort()).toEqual(quietIds);
    expect(samples.find((row) => row.instanceId === quiet[3]!.instanceId)).toMatchObject({
      cpuPercent: 3.5,
      connections: 3,
      memoryBytes: null,
    });

    // Events: one change (the status), one per stored sample; none in the timeline of the quiet.
    await waitFor(
      () =>
        events.some((event) => event.type === 'instance.changed') &&
        events.filter((event) => event.type === 'instance.metrics').length >= quiet.length,
      { timeoutMs: 5000, what: 'the change and metrics events' },
    );
    expect(events.filter((event) => event.type === 'instance.changed')).toEqual([
      expect.objectContaining({ instanceId: changing.instanceId, projectId: ctx.projectId }),
    ]);
    expect(
      events
        .filter((event) => event.type === 'instance.metrics')
        .map((event) => event.instanceId)
        .sort(),
    ).toEqual(quietIds);
    expect(
      await ctx.prisma.instanceEvent.count({
        where: { instanceId: { in: quietIds }, kind: { not: 'created' } },
      }),
    ).toBe(0);

    // Statements: the instances with a likely change go first (the changing guest, and the quiet
    // guest the forged CRASHED names): the changing guest's three beats make two rounds (its two
    // SHUTDOWN beats, saying the same, are written as the newer one): an UPDATE of the first
    // round, then the SHUTDOWN beat on its own (its guest said RUNNING last: the change is tried
    // first, one statement), and an INSERT of their one sample; then the rest: one UPDATE for
    // every other guest's heartbeat, which also finds the stale beat stale (no statement of its
    // own), and one INSERT of samples.
    expect(calls).toEqual({ batch: 4, oneByOne: 1 });
  });

  it('tells the heartbeats another conductor overtook (acked without a statement) from those it must leave to the one-by-one path', async () => {
    const deleted = await createGuestRow();
    await ctx.prisma.instance.update({
      where: { id: deleted.instanceId },
      data: { deletedAt: new Date() },
    });
    const sameEpochOlder = await createGuestRow(); // the row has epoch 3, seq 10
    const sameSeq = await createGuestRow();
    const olderEpoch = await createGuestRow();
    const newer = await createGuestRow();
    const changed = await createGuestRow();
    const at = (guest: Guest, epoch: number, seq: number, serviceStatus = 'RUNNING') =>
      ({ ...heartbeat(guest, { serviceStatus }), epoch, seq }) as unknown as HeartbeatMessage;
    const before = await rowOf(sameEpochOlder);

    const outcomes = await applyUnchangedHeartbeats(ctx.prisma, [
      at(sameEpochOlder, 3, 9),
      at(sameSeq, 3, 10),
      at(olderEpoch, 2, 50),
      at(newer, 3, 11),
      at(changed, 3, 11, 'SHUTDOWN'), // a visible change: the one-by-one path's
      at(deleted, 3, 11),
      at(newer, 3, 12), // a second one of the same instance in one statement: not taken
    ]);

    expect(outcomes).toEqual([
      'stale',
      'stale',
      'stale',
      { projectId: ctx.projectId },
      null,
      null,
      null,
    ]);
    expect(await rowOf(sameEpochOlder)).toEqual(before);
    expect(await rowOf(newer)).toMatchObject({ lastSeq: 11n });
    expect(await rowOf(changed)).toMatchObject({ serviceStatus: 'RUNNING', lastSeq: 10n });
  });

  it('tells a heartbeat another conductor overtook while the statement waited for its row (stale, nothing written)', async () => {
    const guest = await createGuestRow(); // epoch 3, seq 10
    const other = await createGuestRow();
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Another conductor writes seq 12 and holds the row until told to commit.
    const otherConductor = ctx.prisma.$transaction(
      async (tx) => {
        await tx.instance.update({ where: { id: guest.instanceId }, data: { lastSeq: 12n } });
        locked();
        await committed;
      },
      { timeout: 30_000 },
    );
    await isLocked;
    const applying = applyUnchangedHeartbeats(ctx.prisma, [
      { ...heartbeat(guest, { serviceStatus: 'RUNNING' }), seq: 11 } as unknown as HeartbeatMessage,
      { ...heartbeat(other, { serviceStatus: 'RUNNING' }), seq: 11 } as unknown as HeartbeatMessage,
    ]);
    // Until the statement waits for the row lock, then the other conductor commits.
    await waitFor(
      async () =>
        (
          await ctx.prisma.$queryRaw<{ waiting: bigint }[]>`
            SELECT count(*) AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`
        )[0]!.waiting > 0n,
      { timeoutMs: 10_000, what: 'the statement to wait for the row' },
    );
    commit();
    await otherConductor;

    expect(await applying).toEqual(['stale', { projectId: ctx.projectId }]);
    expect(await rowOf(guest)).toMatchObject({ lastSeq: 12n });
    expect(await rowOf(other)).toMatchObject({ lastSeq: 11n });
  });
});

describe('a status change in a batch', () => {
  it("is written and published ahead of the batch's plain heartbeats; a change the row already shows publishes nothing", async () => {
    const stream = `${ctx.names.conductorStream}-urgent`;
    const quiet: Guest[] = [];
    for (let index = 0; index < 10; index++) quiet.push(await createGuestRow());
    const changing = guestB;
    // Another conductor has already applied this guest's change (the hint here is outdated).
    const alreadyShown = guestA;
    const quietIds = new Set(quiet.map((guest) => guest.instanceId));

    // What happens, in order: the statements that write the quiet guests' heartbeats, and the
    // change events published.
    const order: string[] = [];
    const prisma = new Proxy(ctx.prisma, {
      get(object, name) {
        const value: unknown = Reflect.get(object, name);
        if (name !== '$queryRaw' || typeof value !== 'function') return value;
        return (query: Prisma.Sql, ...rest: unknown[]) => {
          if (query.values.some((value) => typeof value === 'string' && quietIds.has(value)))
            order.push('quiet heartbeats written');
          return (value as (...args: unknown[]) => unknown).call(object, query, ...rest);
        };
      },
    });
    const publisher = new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger);
    const publish = publisher.publish.bind(publisher);
    publisher.publish = async (event) => {
      if (event.type === 'instance.changed') order.push(`changed ${event.instanceId}`);
      return publish(event);
    };
    const conductor = testConductor(ctx, {
      stream,
      prisma,
      publisher,
    });
    const signed = (message: Record<string, unknown>, secret: string): [string, string] => {
      const body = JSON.stringify(message);
      return [body, signBody(guestKeys(secret).signing, body)];
    };
    await conductor.start();
    try {
      // The conductor hears every guest say RUNNING (what the rows say: nothing published).
      let lastId = '';
      for (const guest of [...quiet, changing, alreadyShown])
        lastId = await send(heartbeat(guest, { serviceStatus: 'RUNNING' }), guest.secret, stream);
      await waitFor(
        async () => ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(lastId),
        { timeoutMs: 10_000, what: 'the first beats delivered' },
      );
      await waitForNothingPending(stream);
      expect(order).not.toContain(`changed ${changing.instanceId}`);
      order.length = 0;
      await ctx.prisma.instance.update({
        where: { id: alreadyShown.instanceId },
        data: { serviceStatus: 'SHUTDOWN' },
      });

      // One batch (one transaction, read at once): the quiet guests' beats first in the
      // stream, then the changing guest's SHUTDOWN and the other's SHUTDOWN, already shown.
      const batch = ctx.redis.multi();
      for (const guest of quiet) {
        const [body, sig] = signed(heartbeat(guest, { serviceStatus: 'RUNNING' }), guest.secret);
        batch.xadd(stream, '*', 'body', body, 'sig', sig);
      }
      const [changeBody, changeSig] = signed(
        heartbeat(changing, { serviceStatus: 'SHUTDOWN' }),
        changing.secret,
      );
      batch.xadd(stream, '*', 'body', changeBody, 'sig', changeSig);
      const [shownBody, shownSig] = signed(
        heartbeat(alreadyShown, { serviceStatus: 'SHUTDOWN' }),
        alreadyShown.secret,
      );
      batch.xadd(stream, '*', 'body', shownBody, 'sig', shownSig);
      const replies = (await batch.exec())!;
      lastId = String(replies.at(-1)![1]);
      await waitFor(
        async () => ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(lastId),
        { timeoutMs: 10_000, what: 'the batch delivered' },
      );
      await waitForNothingPending(stream);
    } finally {
      await conductor.stop();
      await ctx.redis.del(stream);
    }

    expect(order).toEqual([`changed ${changing.instanceId}`, 'quiet heartbeats written']);
    expect(await rowOf(changing)).toMatchObject({
      serviceStatus: 'SHUTDOWN',
      lastSeq: BigInt(changing.seq),
    });
    expect(await rowOf(alreadyShown)).toMatchObject({
      serviceStatus: 'SHUTDOWN',
      lastSeq: BigInt(alreadyShown.seq),
    });
    for (const guest of quiet)
      expect(await rowOf(guest)).toMatchObject({
        serviceStatus: 'RUNNING',
        lastSeq: BigInt(guest.seq),
      });
  });
});

describe('heartbeats that change nothing', () => {
  it("are held and written together: a status change read after them is written and published first, a guest's beats saying the same are written once (a replayed older one is not taken for newer), and what is held is written at stop", async () => {
    const stream = `${ctx.names.conductorStream}-held`;
    const quiet: Guest[] = [];
    for (let index = 0; index < 5; index++) quiet.push(await createGuestRow());
    const changing = guestB;
    const quietBefore = await Promise.all(quiet.map(rowOf));
    const beat = (
      guest: Guest,
      serviceStatus: string,
      usedBytes: number,
    ): Record<string, unknown> => {
      const message = heartbeat(guest, { serviceStatus });
      return {
        ...message,
        payload: { ...(message.payload as object), volume: { usedBytes, totalBytes: 8000 } },
      };
    };
    const pendingCount = async () =>
      ((await ctx.redis.xpending(stream, ctx.names.conductorGroup)) as [number])[0];
    const delivered = (id: string) => async () =>
      ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(id) ?? false;

    const { client, calls } = countingPrisma(ctx.prisma);
    const conductor = testConductor(ctx, {
      stream,
      prisma: client,
      // Held until the conductor stops.
      tuning: { conductorFlushMs: 600_000 },
    });
    const sent = new Map<string, ReturnType<typeof beat>>();
    await conductor.start();
    let stopped = false;
    try {
      // The changing guest says RUNNING (as its row), then every quiet guest beats three times.
      await send(heartbeat(changing, { serviceStatus: 'RUNNING' }), changing.secret, stream);
      let lastId = '';
      for (let round = 0; round < 3; round++)
        for (const guest of quiet) {
          const message = beat(guest, 'RUNNING', 100 + round);
          if (round === 0 && guest === quiet[0]) sent.set('first', message);
          sent.set(guest.instanceId, message);
          lastId = await send(message, guest.secret, stream);
        }
      // A replay of quiet[0]'s first beat: older, so it does not stand for the newer ones.
      lastId = await send(sent.get('first')!, quiet[0]!.secret, stream);
      await waitFor(delivered(lastId), { timeoutMs: 10_000, what: 'the quiet beats delivered' });

      // Read on its own, after them: written and published while they are still held.
      const changeId = await send(
        heartbeat(changing, { serviceStatus: 'SHUTDOWN' }),
        changing.secret,
        stream,
      );
      await waitFor(() => events.some((event) => event.instanceId === changing.instanceId), {
        timeoutMs: 10_000,
        what: 'the change event',
      });
      await waitFor(async () => (await pendingCount()) === 16, {
        timeoutMs: 10_000,
        what: "the change's entries acked",
      });
      expect(
        ((await ctx.redis.xpending(stream, ctx.names.conductorGroup, '-', '+', 100)) as string[][])
          .map(([id]) => id)
          .includes(changeId),
      ).toBe(false);
      expect(await rowOf(changing)).toMatchObject({
        serviceStatus: 'SHUTDOWN',
        lastSeq: BigInt(changing.seq),
      });
      expect(await Promise.all(quiet.map(rowOf))).toEqual(quietBefore);
      // The changing guest's two beats: two rounds, the RUNNING one in the batch's statement,
      // then the SHUTDOWN one in one statement (its guest said RUNNING last: a likely change).
      expect(calls).toEqual({ batch: 1, oneByOne: 1 });

      await conductor.stop();
      stopped = true;
      expect(await pendingCount()).toBe(0);
    } finally {
      if (!stopped) await conductor.stop();
      await ctx.redis.del(stream);
    }
    for (const guest of quiet) {
      const newest = sent.get(guest.instanceId)!;
      expect(await rowOf(guest)).toMatchObject({
        serviceStatus: 'RUNNING',
        lastSeq: BigInt(newest.seq as number),
        volumeUsedBytes: 102n,
      });
    }
    // At stop: one UPDATE for the newest beat of every quiet guest, then one for quiet[0]'s
    // replay, which finds it stale (nothing written, no statement of its own after it).
    expect(calls).toEqual({ batch: 3, oneByOne: 1 });
    expect(events.filter((event) => event.type === 'instance.changed')).toEqual([
      expect.objectContaining({ instanceId: changing.instanceId }),
    ]);
  });
});

describe('held heartbeats being written', () => {
  it('do not hold up a status change of another instance: it is written and published while their statement waits, and the loop goes on reading while the next chunk waits for it', async () => {
    const stream = `${ctx.names.conductorStream}-writing`;
    const quiet: Guest[] = [];
    for (let index = 0; index < 5; index++) quiet.push(await createGuestRow());
    const quietIds = new Set(quiet.map((guest) => guest.instanceId));
    const changing = guestB;
    const quietBefore = await Promise.all(quiet.map(rowOf));

    // The statement that writes the quiet guests' beats waits until the test opens the gate.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let isQuietWriteWaiting = false;
    const prisma = new Proxy(ctx.prisma, {
      get(object, name) {
        const value: unknown = Reflect.get(object, name);
        if (name !== '$queryRaw' || typeof value !== 'function') return value;
        return async (query: Prisma.Sql, ...rest: unknown[]) => {
          if (query.values.some((value) => typeof value === 'string' && quietIds.has(value))) {
            isQuietWriteWaiting = true;
            await gate;
          }
          return (value as (...args: unknown[]) => unknown).call(object, query, ...rest);
        };
      },
    });
    const conductor = testConductor(ctx, {
      stream,
      prisma,
      // Due as soon as read: the next chunk is due while the first is being written.
      tuning: { conductorFlushMs: 0 },
    });
    await conductor.start();
    try {
      await sendAndWaitForAckOn(
        stream,
        heartbeat(changing, { serviceStatus: 'RUNNING' }),
        changing.secret,
      );
      // The first quiet beat's chunk is being written (held back); the others are read after
      // it and are due while it is: they wait for it, the loop does not.
      await send(heartbeat(quiet[0]!, { serviceStatus: 'RUNNING' }), quiet[0]!.secret, stream);
      await waitFor(() => isQuietWriteWaiting, {
        timeoutMs: 10_000,
        what: "the first quiet beat's statement",
      });
      let lastId = '';
      for (const guest of quiet.slice(1))
        lastId = await send(heartbeat(guest, { serviceStatus: 'RUNNING' }), guest.secret, stream);
      await waitFor(
        async () => ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(lastId),
        { timeoutMs: 10_000, what: 'the other quiet beats delivered' },
      );

      await send(heartbeat(changing, { serviceStatus: 'SHUTDOWN' }), changing.secret, stream);
      await waitFor(() => events.some((event) => event.instanceId === changing.instanceId), {
        timeoutMs: 10_000,
        what: 'the change event while the quiet beats are being written',
      });
      expect(await rowOf(changing)).toMatchObject({ serviceStatus: 'SHUTDOWN' });
      expect(await Promise.all(quiet.map(rowOf))).toEqual(quietBefore);

      openGate();
      await waitForNothingPending(stream);
    } finally {
      openGate();
      await conductor.stop();
      await ctx.redis.del(stream);
    }
    for (const guest of quiet)
      expect(await rowOf(guest)).toMatchObject({ lastSeq: BigInt(guest.seq) });
  });
});

describe('a status change being applied', () => {
  it("holds up neither the reading of the stream nor another instance's change; the same instance's next change waits for it", async () => {
    const stream = `${ctx.names.conductorStream}-applying`;
    const slow = guestA;
    const fast = guestB;
    // The change statements of the slow guest wait until the test opens the gate.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let isSlowChangeWaiting = false;
    const instance = new Proxy(ctx.prisma.instance, {
      get(object, name) {
        const value: unknown = Reflect.get(object, name);
        if (name !== 'updateManyAndReturn' || typeof value !== 'function') return value;
        return async (args: unknown) => {
          // (Its arguments hold BigInts: JSON.stringify would throw.)
          const text = JSON.stringify(args, (_key, value: unknown) =>
            typeof value === 'bigint' ? String(value) : value,
          );
          if (text.includes(slow.instanceId)) {
            isSlowChangeWaiting = true;
            await gate;
          }
          return (value as (args: unknown) => unknown).call(object, args);
        };
      },
    });
    const prisma = new Proxy(ctx.prisma, {
      get: (object, name) => (name === 'instance' ? instance : Reflect.get(object, name)),
    });
    const conductor = testConductor(ctx, {
      stream,
      prisma,
    });
    await conductor.start();
    try {
      // What each guest says, known to the conductor: what differs next is a likely change.
      for (const guest of [slow, fast])
        await sendAndWaitForAckOn(
          stream,
          heartbeat(guest, { serviceStatus: 'RUNNING' }),
          guest.secret,
        );
      await waitFor(async () => (await rowOf(slow)).serviceStatus === 'RUNNING', {
        timeoutMs: 10_000,
        what: 'the slow guest RUNNING',
      });
      events.length = 0;

      await send(heartbeat(slow, { serviceStatus: 'SHUTDOWN' }), slow.secret, stream);
      await waitFor(() => isSlowChangeWaiting, {
        timeoutMs: 10_000,
        what: "the slow guest's change statement",
      });
      // Its next change is read and waits for the first; the other guest's change goes at once.
      const slowLastId = await send(
        heartbeat(slow, { serviceStatus: 'BLOCKED' }),
        slow.secret,
        stream,
      );
      await send(heartbeat(fast, { serviceStatus: 'SHUTDOWN' }), fast.secret, stream);
      await waitFor(() => events.some((event) => event.instanceId === fast.instanceId), {
        timeoutMs: 10_000,
        what: "the other guest's change event while the slow change waits",
      });
      expect(await rowOf(fast)).toMatchObject({ serviceStatus: 'SHUTDOWN' });
      // Read (delivered, not acked yet): it waits for the first change, not for a read.
      expect(
        await ctx.redis.xpending(stream, ctx.names.conductorGroup, slowLastId, slowLastId, 1),
      ).toHaveLength(1);
      expect(await rowOf(slow)).toMatchObject({ serviceStatus: 'RUNNING' });
      expect(events.some((event) => event.instanceId === slow.instanceId)).toBe(false);

      openGate();
      await waitForNothingPending(stream);
      expect(await rowOf(slow)).toMatchObject({
        serviceStatus: 'BLOCKED',
        lastSeq: BigInt(slow.seq),
      });
    } finally {
      openGate();
      await conductor.stop();
      await ctx.redis.del(stream);
    }
  });
});

/** A TCP proxy in front of PostgreSQL that the test can cut and restore: "the database is unreachable". */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** One of the file's spare ports, so that no outgoing connection takes it while cut. */
  port = testPorts().spare.min;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('the stream', () => {
  it('is trimmed of acknowledged history, and a stopped conductor leaves the group', async () => {
    const stream = `${ctx.names.conductorStream}-trim`;
    const blockingConnection = ctx.redis.duplicate();
    const settings = buildSettings(
      loadWorkerEnv(ctx.workerEnv()),
      { ...ctx.names, conductorStream: stream },
      { conductorBlockMs: 100 },
    );
    const conductor = new Conductor({
      prisma: ctx.prisma,
      redis: ctx.redis,
      blockingConnection,
      publisher: new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger),
      settings,
      logger: ctx.logger,
    });
    await conductor.start();
    try {
      let lastId = '';
      for (let index = 0; index < 300; index++) {
        lastId = await send(heartbeat(guestA), guestA.secret, stream);
      }
      await waitFor(
        async () => ((await ctx.redis.xinfo('GROUPS', stream)) as unknown[][])[0]?.includes(lastId),
        {
          timeoutMs: 20_000,
          what: 'every entry delivered',
        },
      );
      await waitFor(
        async () =>
          ((await ctx.redis.xpending(stream, ctx.names.conductorGroup)) as [number])[0] === 0,
        {
          timeoutMs: 20_000,
          what: 'every entry acked',
        },
      );
      expect(await ctx.redis.xlen(stream)).toBe(300);
      await conductor.trim();
      // Approximate trimming removes whole macro nodes (100 entries by default): most of the history goes.
      expect(await ctx.redis.xlen(stream)).toBeLessThan(150);
      expect((await rowOf(guestA)).lastSeq).toBe(BigInt(guestA.seq));
    } finally {
      await conductor.stop();
    }
    const consumers = (await ctx.redis.xinfo(
      'CONSUMERS',
      stream,
      ctx.names.conductorGroup,
    )) as unknown[];
    expect(consumers).toEqual([]);
    await ctx.redis.del(stream);
  });
});

describe('the conductor when the database is unreachable', () => {
  let proxy: CuttableProxy;
  let prismaViaProxy: PrismaClient;
  let worker: RunningWorker;
  const names = () => ({ ...ctx.names, conductorStream: `${ctx.names.conductorStream}-outage` });

  beforeAll(async () => {
    const target = new URL(ctx.db.url);
    proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
    await proxy.open();
    const viaProxy = new URL(ctx.db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    prismaViaProxy = createPrismaClient({ url: viaProxy.toString(), maxConnections: 2 });
  });

  afterAll(async () => {
    await worker?.stop();
    await proxy.cut();
    await prismaViaProxy.$disconnect().catch(() => undefined);
    await ctx.redis.del(names().conductorStream);
  });

  it('leaves a message whose write failed pending, and applies it after recovery', async () => {
    worker = await startWorker({
      roles: ['conductor'],
      prisma: prismaViaProxy,
      redis: ctx.redis,
      logger: ctx.logger,
      env: ctx.workerEnv(),
      names: names(),
      tuning: {
        conductorBlockMs: 200,
        conductorReclaimIdleMs: 1_000,
        conductorReclaimIntervalMs: 500,
      },
    });
    const stream = names().conductorStream;

    await proxy.cut();
    const before = await rowOf(guestA);
    const message = heartbeat(guestA, { serviceStatus: 'RESTART_REQUIRED' });
    const id = await send(message, guestA.secret, stream);

    // Delivered, not acked: pending, and the row is as it was.
    await waitFor(
      async () => {
        const pending = (await ctx.redis.xpending(
          stream,
          ctx.names.conductorGroup,
          '-',
          '+',
          10,
        )) as [string, string, number, number][];
        return pending.some(([entryId, , , deliveries]) => entryId === id && deliveries >= 2);
      },
      { timeoutMs: 20_000, what: 'the entry to be pending after failed attempts' },
    );
    expect(await rowOf(guestA)).toEqual(before);

    // The database comes back: the entry is claimed again, applied and acked.
    await proxy.open();
    await waitFor(async () => (await rowOf(guestA)).serviceStatus === 'RESTART_REQUIRED', {
      timeoutMs: 30_000,
      what: 'the message to be applied after recovery',
    });
    await waitForNothingPending(stream);
    expect((await rowOf(guestA)).lastSeq).toBe(BigInt(guestA.seq));
  });
});

describe('arrivalTimeOf', () => {
  it("reads Redis's stamp from an entry id, never later than now", () => {
    expect(arrivalTimeOf('1700000000000-3', 1800000000000)).toBe(1700000000000);
    expect(arrivalTimeOf('1900000000000-0', 1800000000000)).toBe(1800000000000);
    expect(arrivalTimeOf('nonsense', 1800000000000)).toBe(1800000000000);
  });
});
