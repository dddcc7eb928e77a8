import { guestQueueName } from '@coffer/contracts';
import { isAlive, isGuest, isMariadbd, processesMentioning } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../test/harness';

/**
 * Acceptance 1: create → ACTIVE (and the tenant's user can query its database), restart →
 * ACTIVE again, delete → no process, no directory, no row. The instance is made the way the
 * web app makes it: a row in BUILDING and an `instance.create` job with sealed passwords.
 */

const ctx = new WorkerTestContext({ name: 'lifecycle' });

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker();
});

afterAll(() => ctx.closeLeavingNothing());

async function queryAsTenant(
  instanceId: string,
  user: string,
  password: string,
  database: string,
): Promise<unknown> {
  const row = await ctx.row(instanceId);
  const connection = await mysql.createConnection({
    host: row!.host!,
    port: row!.port!,
    user,
    password,
    database,
    connectTimeout: 5000,
  });
  try {
    const [rows] = await connection.query('SELECT DATABASE() AS db, 6 * 7 AS answer');
    return rows;
  } finally {
    await connection.end();
  }
}

describe('an instance, end to end', () => {
  it('is created, restarted and deleted', async () => {
    const startedAt = Date.now();
    const { instanceId, userName, password, databaseName } = await ctx.createInstance();

    await ctx.waitForActive(instanceId, {
      timeoutMs: 60_000,
      what: 'ACTIVE after create',
    });
    const createMs = Date.now() - startedAt;
    console.info(`create → ACTIVE: ${createMs} ms`);

    const built = await ctx.row(instanceId);
    expect(built).toMatchObject({
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      host: '127.0.0.1',
      computeServerId: instanceId,
      faultMessage: null,
    });
    expect(built!.port).toBeGreaterThanOrEqual(ctx.portRange.min);
    expect(built!.port).toBeLessThanOrEqual(ctx.portRange.max);
    expect(built!.guestSecretEnc).toMatch(/^v1\./);
    expect(built!.guestVersion).toBeTruthy();
    expect(await queryAsTenant(instanceId, userName, password, databaseName)).toEqual([
      { db: databaseName, answer: 42 },
    ]);

    // Restart: the guest restarts mariadbd; ACTIVE again after a fresh RUNNING heartbeat.
    const mariadbBefore = processesMentioning(ctx.instanceDir(instanceId)).filter(isMariadbd);
    expect(mariadbBefore).toHaveLength(1);
    await ctx.restartInstance(instanceId);
    expect(await ctx.displayStatus(instanceId)).toBe('REBOOT');
    await waitFor(async () => (await ctx.row(instanceId))?.taskStatus === 'NONE', {
      timeoutMs: 60_000,
      what: 'the restart to finish',
    });
    expect(await ctx.displayStatus(instanceId)).toBe('ACTIVE');
    expect((await ctx.row(instanceId))!.faultMessage).toBeNull();
    const mariadbAfter = processesMentioning(ctx.instanceDir(instanceId)).filter(isMariadbd);
    expect(mariadbAfter).toHaveLength(1);
    expect(mariadbAfter[0]!.pid).not.toBe(mariadbBefore[0]!.pid);
    expect(await queryAsTenant(instanceId, userName, password, databaseName)).toEqual([
      { db: databaseName, answer: 42 },
    ]);

    // Delete: processes, files, the guest's queue and the row go.
    const processes = processesMentioning(ctx.instanceDir(instanceId));
    expect(processes.filter(isGuest)).toHaveLength(1);
    await ctx.deleteAndExpectGone(instanceId);
    // Each ended (a zombie counts: init here does not reap orphans; the guest reaps its server).
    await waitFor(() => processes.every(({ pid }) => !isAlive(pid)), {
      timeoutMs: 10_000,
      what: "the instance's processes to end",
    });
    expect(await ctx.redis.keys(`bull:${guestQueueName(instanceId)}:*`)).toEqual([]);
  });
});
