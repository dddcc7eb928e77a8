import { randomUUID } from 'node:crypto';

import { conductorShardName, conductorShardOf, conductorShardStream } from '@coffer/contracts';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  countingPrisma,
  createConductorGuest,
  heartbeat,
  sendAsGuest,
  testConductor,
  type Guest,
} from '../../test/conductor-guests';
import { WorkerTestContext } from '../../test/harness';
import { type Conductor } from './conductor';
import { conductorMembersKey, guestConductorStream, shardsHeldBy } from './shards';

/**
 * The conductor stream's shards (shards.ts): which process reads which, and what happens when a
 * process joins, leaves, or dies. Real conductors over the real Redis and PostgreSQL.
 */

const SHARDS = 12;

describe('the split of the shards', () => {
  it('gives every shard to exactly one of the processes, by rank', () => {
    for (const count of [1, 2, 3, 5, 13]) {
      const members = Array.from({ length: count }, (_, index) => `conductor-${index}`);
      const held = members.map((member) => shardsHeldBy(member, members, SHARDS));
      expect(held.flat().sort((a, b) => a - b)).toEqual(
        Array.from({ length: SHARDS }, (_, shard) => shard),
      );
      const sizes = held.map((shards) => shards.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    // A process that does not see itself among the members yet counts itself in.
    expect(shardsHeldBy('b', ['a'], 4)).toEqual([1, 3]);
  });

  it("puts a guest in the same shard every time, and a fleet's guests in all of them", () => {
    const id = randomUUID();
    expect(conductorShardOf(id, SHARDS)).toBe(conductorShardOf(id.toUpperCase(), SHARDS));
    expect(conductorShardStream('conductor', id, SHARDS)).toBe(
      conductorShardName('conductor', conductorShardOf(id, SHARDS)),
    );
    const counts = new Array<number>(SHARDS).fill(0);
    for (let index = 0; index < 1200; index++) counts[conductorShardOf(randomUUID(), SHARDS)]!++;
    // 100 expected in each; far outside chance below 50.
    expect(Math.min(...counts)).toBeGreaterThan(50);
  });
});

describe('conductor processes and shards', () => {
  const ctx = new WorkerTestContext({ name: 'conductor-shards' });
  const running: Conductor[] = [];
  const stream = `${ctx.names.conductorStream}-shards`;
  const tuning = {
    conductorMembershipMs: 200,
    conductorMemberTtlMs: 1_500,
    conductorReclaimIdleMs: 1_000,
    conductorReclaimIntervalMs: 300,
  };
  const settings = { conductorStream: stream, conductorShards: SHARDS };

  async function startConductor() {
    const { client, calls } = countingPrisma(ctx.prisma);
    const conductor = testConductor(ctx, { stream, prisma: client, tuning });
    await conductor.start();
    running.push(conductor);
    return { conductor, calls };
  }

  const shardsOf = (conductor: Conductor) => conductor.readStreams.slice(1);

  /** A guest whose shard `conductor` reads now (made until one is). */
  async function guestReadBy(conductor: Conductor): Promise<Guest> {
    for (;;) {
      const guest = await createConductorGuest(ctx);
      if (shardsOf(conductor).includes(guestConductorStream(settings, guest.instanceId)))
        return guest;
    }
  }

  /** Sends a status change from `guest` to its shard, and waits until its row shows it. */
  async function changeStatus(guest: Guest, serviceStatus: string): Promise<void> {
    await sendAsGuest(
      ctx,
      heartbeat(guest, { serviceStatus }),
      guest.secret,
      guestConductorStream(settings, guest.instanceId),
    );
    await waitFor(async () => (await ctx.row(guest.instanceId))?.serviceStatus === serviceStatus, {
      timeoutMs: 15_000,
      what: `${guest.instanceId} ${serviceStatus}`,
    });
  }

  const allShards = () =>
    Array.from({ length: SHARDS }, (_, shard) =>
      conductorShardName(settings.conductorStream, shard),
    );

  beforeAll(() => ctx.setUp());

  afterAll(async () => {
    for (const conductor of running) await conductor.stop().catch(() => undefined);
    await ctx.close();
  });

  it("split the shards between them, so that one process reads all of a guest's messages; one that stops hands its shards over", async () => {
    const first = await startConductor();
    expect(shardsOf(first.conductor)).toEqual(allShards());
    const second = await startConductor();
    await waitFor(
      () =>
        shardsOf(first.conductor).length + shardsOf(second.conductor).length === SHARDS &&
        new Set([...shardsOf(first.conductor), ...shardsOf(second.conductor)]).size === SHARDS,
      { timeoutMs: 5_000, what: 'the shards split between the two' },
    );
    expect(shardsOf(first.conductor)).toHaveLength(6);

    // Each one's guests' messages are written by that one alone.
    const mine = await guestReadBy(first.conductor);
    const theirs = await guestReadBy(second.conductor);
    const before = { first: first.calls.oneByOne, second: second.calls.oneByOne };
    for (const status of ['SHUTDOWN', 'BLOCKED', 'RUNNING']) await changeStatus(mine, status);
    expect(first.calls.oneByOne - before.first).toBeGreaterThanOrEqual(3);
    expect(second.calls.oneByOne).toBe(before.second);
    await changeStatus(theirs, 'SHUTDOWN');
    expect(second.calls.oneByOne).toBeGreaterThan(before.second);

    // The second stops: its shards go to the first, which then applies that guest's messages.
    await second.conductor.stop();
    await waitFor(() => shardsOf(first.conductor).length === SHARDS, {
      timeoutMs: 5_000,
      what: 'the first to hold every shard',
    });
    await changeStatus(theirs, 'BLOCKED');
  });

  it("leaves a dead process's shards unread until its membership expires, then reads them; nothing is lost", async () => {
    const survivor = running.find((conductor) => shardsOf(conductor).length === SHARDS)!;
    // A process that registered and died (it never renews): on Redis' clock, 1.5 s to live.
    const [seconds = 0, micros = 0] = await ctx.redis.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await ctx.redis.zadd(conductorMembersKey(settings), nowMs + 1_500, '~dead-conductor');
    await waitFor(() => shardsOf(survivor).length === SHARDS / 2, {
      timeoutMs: 5_000,
      what: 'the survivor to leave the dead one its share',
    });
    const orphan = await (async () => {
      for (;;) {
        const guest = await createConductorGuest(ctx);
        if (!shardsOf(survivor).includes(guestConductorStream(settings, guest.instanceId)))
          return guest;
      }
    })();
    // Sent while nobody reads its shard: it waits in the stream and is applied once the survivor
    // takes the dead one's shards.
    await changeStatus(orphan, 'SHUTDOWN');
    expect(shardsOf(survivor)).toHaveLength(SHARDS);
    expect(await ctx.redis.zrange(conductorMembersKey(settings), 0, -1)).toHaveLength(1);
  });
});
