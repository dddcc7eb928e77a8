import { isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  displayStatusOf,
  TEST_HEARTBEAT,
  TEST_TUNING,
  WorkerTestContext,
  type CreatedInstance,
} from '../test/harness';

/**
 * Acceptance 2 (the guest's part): a killed database server or a killed guest shows SHUTDOWN
 * within the heartbeat expiry (interval 1 s, expiry 4 s here), never ACTIVE forever; and a
 * restart brings either back.
 */

const ctx = new WorkerTestContext({ name: 'faults' });
const expiryMs = TEST_HEARTBEAT.expirySeconds * 1000;
let instance: CreatedInstance;

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker();
  instance = await ctx.createInstance();
  await ctx.waitForActive(instance.instanceId, {
    timeoutMs: 60_000,
    what: 'ACTIVE',
  });
});

afterAll(() => ctx.closeLeavingNothing());

async function expectTenantCanQuery(): Promise<void> {
  const row = (await ctx.row(instance.instanceId))!;
  const connection = await mysql.createConnection({
    host: row.host!,
    port: row.port!,
    user: instance.userName,
    password: instance.password,
    database: instance.databaseName,
  });
  try {
    const [rows] = await connection.query('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
  } finally {
    await connection.end();
  }
}

async function restartAndWaitForActive(): Promise<void> {
  await ctx.restartInstance(instance.instanceId);
  await waitFor(async () => (await ctx.row(instance.instanceId))?.taskStatus === 'NONE', {
    timeoutMs: 60_000,
    what: 'the restart to finish',
  });
  const row = (await ctx.row(instance.instanceId))!;
  expect(row.faultMessage).toBeNull();
  expect(displayStatusOf(row)).toBe('ACTIVE');
  await expectTenantCanQuery();
}

function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0]!;
}

describe('faults', () => {
  it('shows SHUTDOWN within the expiry when the database server is killed, and a restart brings it back', async () => {
    const mariadbd = only(
      processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isMariadbd),
      'one mariadbd',
    );
    const killedAt = Date.now();
    process.kill(mariadbd.pid, 'SIGKILL');

    await waitFor(
      async () => {
        const row = (await ctx.row(instance.instanceId))!;
        return row.serviceStatus !== 'RUNNING' && displayStatusOf(row) === 'SHUTDOWN';
      },
      { timeoutMs: expiryMs, intervalMs: 20, what: 'SHUTDOWN after mariadbd was killed' },
    );
    console.info(`mariadbd killed → SHUTDOWN in ${Date.now() - killedAt} ms`);
    // CRASHED, or SHUTDOWN if the guest is already starting it again (self-healing.test.ts).
    expect(['CRASHED', 'SHUTDOWN']).toContain((await ctx.row(instance.instanceId))!.serviceStatus);

    await restartAndWaitForActive();
  });

  it('shows SHUTDOWN within the expiry when the guest is killed (the watchdog), and a restart reboots the guest', async () => {
    const guest = only(
      processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isGuest),
      'one guest',
    );
    const lastBeat = (await ctx.row(instance.instanceId))!.lastHeartbeatAt!.getTime();
    const killedAt = Date.now();
    process.kill(guest.pid, 'SIGKILL');

    // Derived from the heartbeat's age at once after the expiry; stored by the watchdog within one sweep of it.
    const deadline = lastBeat + expiryMs + TEST_TUNING.watchdogIntervalMs! + 1000;
    await waitFor(async () => (await ctx.row(instance.instanceId))!.serviceStatus === 'SHUTDOWN', {
      timeoutMs: Math.max(0, deadline - Date.now()),
      intervalMs: 20,
      what: 'the watchdog to store SHUTDOWN',
    });
    console.info(
      `guest killed → SHUTDOWN stored in ${Date.now() - killedAt} ms (expiry ${expiryMs} ms)`,
    );
    const row = (await ctx.row(instance.instanceId))!;
    expect(displayStatusOf(row)).toBe('SHUTDOWN');
    expect(Date.now() - row.lastHeartbeatAt!.getTime()).toBeGreaterThan(expiryMs);
    // The database server outlives its guest.
    only(
      processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isMariadbd),
      'mariadbd still running',
    );

    await restartAndWaitForActive();
    const guests = processesMentioning(ctx.instanceDir(instance.instanceId)).filter(isGuest);
    expect(guests).toHaveLength(1);
    expect(guests[0]!.pid).not.toBe(guest.pid);
  });

  it('deletes the instance with everything it ran', async () => {
    await ctx.deleteAndExpectGone(instance.instanceId);
  });
});
