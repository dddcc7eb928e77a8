import { guestKeys, signBody } from '@coffer/contracts/crypto';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MASTER_KEY, WorkerTestContext } from '../../test/harness';
import { openGuestSecret } from '../guest-secret';

/**
 * Issue 11: a message signed with an instance's own key must not freeze its status. With a
 * real guest beside it: a heartbeat from a day ahead is dropped and the guest's own beats keep
 * applying; one with the highest place in the order there is holds the status only until a
 * restart, which re-bases the order and brings ACTIVE back.
 */

const ctx = new WorkerTestContext({ name: 'guest-order' });
const DAY_MS = 24 * 3600_000;

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker({ tuning: { restartHeartbeatTimeoutMs: 20_000 } });
});

afterAll(() => ctx.closeLeavingNothing());

/** The entries of the instance's stream (its shard) that name it after `afterId`. */
async function entriesAfter(instanceId: string, afterId: string): Promise<string[]> {
  const entries = (await ctx.redis.xrange(ctx.guestStream(instanceId), `(${afterId}`, '+')) as [
    string,
    string[],
  ][];
  return entries
    .filter(([, fields]) => (fields[fields.indexOf('body') + 1] ?? '').includes(instanceId))
    .map(([id]) => id);
}

describe("a guest's order of messages", () => {
  it('cannot be frozen by a forged heartbeat: a day ahead it is dropped, with a huge epoch it holds until a restart', async () => {
    const { instanceId } = await ctx.createInstance();
    await ctx.waitForActive(instanceId, {
      timeoutMs: 60_000,
      what: 'ACTIVE after create',
    });
    const built = (await ctx.row(instanceId))!;
    expect(built.lastEpoch).toBeGreaterThanOrEqual(1n);
    const signingKey = guestKeys(
      openGuestSecret(MASTER_KEY, instanceId, built.guestSecretEnc!),
    ).signing;

    /**
     * A SHUTDOWN heartbeat signed with the instance's own key, in its guest's stream (where a
     * guest whose key leaked could write it); waits until the conductor acked it.
     */
    async function forge(order: { sentAt: number; epoch: number; seq: number }): Promise<string> {
      const body = JSON.stringify({
        kind: 'heartbeat',
        instanceId,
        ...order,
        payload: {
          serviceStatus: 'SHUTDOWN',
          guestVersion: built.guestVersion,
          serverVersion: null,
        },
      });
      const stream = ctx.guestStream(instanceId);
      const id = (await ctx.redis.xadd(
        stream,
        '*',
        'body',
        body,
        'sig',
        signBody(signingKey, body),
      ))!;
      await waitFor(() => ctx.isAckedByConductor(id, stream), {
        timeoutMs: 10_000,
        what: `entry ${id} to be acked`,
      });
      return id;
    }

    // A day ahead, and next in the guest's own order: dropped; the guest's beats keep applying.
    const dayAhead = await forge({
      sentAt: Date.now() + DAY_MS,
      epoch: Number(built.lastEpoch),
      seq: Number(built.lastSeq) + 1_000_000,
    });
    const droppedAt = Date.now();
    await waitFor(
      async () => {
        const row = (await ctx.row(instanceId))!;
        return (
          row.serviceStatus === 'RUNNING' &&
          row.lastHeartbeatAt!.getTime() > droppedAt &&
          (await entriesAfter(instanceId, dayAhead)).length >= 2
        );
      },
      { timeoutMs: 15_000, what: "the guest's own heartbeats to apply after the forged one" },
    );
    expect(await ctx.displayStatus(instanceId)).toBe('ACTIVE');

    // Within the skew window, with the highest place in the order there is: it is applied, and
    // the guest's own beats after it are stale...
    const highest = await forge({
      sentAt: Date.now(),
      epoch: Number.MAX_SAFE_INTEGER,
      seq: Number.MAX_SAFE_INTEGER,
    });
    await waitFor(
      async () => {
        const later = await entriesAfter(instanceId, highest);
        return (
          later.length >= 2 &&
          (await ctx.isAckedByConductor(later[1]!, ctx.guestStream(instanceId)))
        );
      },
      { timeoutMs: 15_000, what: 'two heartbeats of the guest after the forged one' },
    );
    expect(await ctx.row(instanceId)).toMatchObject({
      serviceStatus: 'SHUTDOWN',
      lastEpoch: BigInt(Number.MAX_SAFE_INTEGER),
    });

    // ...until a restart: it re-bases the order, and the truth comes back.
    await ctx.restartInstance(instanceId);
    await waitFor(async () => (await ctx.row(instanceId))?.taskStatus === 'NONE', {
      timeoutMs: 90_000,
      what: 'the restart to finish',
    });
    const restarted = (await ctx.row(instanceId))!;
    expect(restarted.faultMessage).toBeNull();
    expect(restarted.lastEpoch).toBeLessThan(BigInt(Number.MAX_SAFE_INTEGER));
    expect(await ctx.displayStatus(instanceId)).toBe('ACTIVE');
  });
});
