import { type ConductorMessage } from '@coffer/contracts';
import { waitFor } from '@coffer/testing/wait';
import { type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectAsRoot, GuestHarness, instanceFiles, type TestInstance } from '../test/harness';

/**
 * `wait_for_gtid` (a promote's catch-up) on a real guest and mariadbd: it answers at once when
 * the server cannot reach the position (no replication at all), not at the end of its timeout,
 * and it starts replication threads that are stopped without an error (a server restarted
 * after a crash that did not start them) rather than waiting on them.
 */

const isRunning = (message: ConductorMessage) =>
  message.kind === 'heartbeat' && message.payload.serviceStatus === 'RUNNING';

/** A position no server here has applied. */
const UNREACHED = '0-4242-1000000';

describe('waiting for a GTID position through the guest', () => {
  const harness = new GuestHarness(1);
  let instance: TestInstance;
  let root: Connection;

  beforeAll(async () => {
    instance = await harness.createInstance();
    await harness.prepareApp(instance);
    await instance.conductor.waitFor(isRunning, 90_000, 'RUNNING');
    root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
  });

  afterAll(async () => {
    await root?.end();
    await harness.close();
  });

  it('answers not reached at once on a server that does not replicate', async () => {
    const started = Date.now();
    const result = await instance.client.call(
      'wait_for_gtid',
      { position: UNREACHED, timeoutSeconds: 60 },
      { timeoutMs: 90_000 },
    );
    expect(result.isReached).toBe(false);
    expect(result.status.replica).toBeNull();
    // One slice (2 s) and a look at the threads, not the 60 s asked for.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('starts replication threads stopped without an error, then waits on', async () => {
    // A source that is not there: configured, never started, no error yet.
    await root.query(
      "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 1, MASTER_USER = 'nobody', MASTER_PASSWORD = 'x', MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = slave_pos",
    );
    const ioState = async () => {
      const [rows] = await root.query<RowDataPacket[]>('SHOW SLAVE STATUS');
      return String(rows[0]?.Slave_IO_Running ?? '');
    };
    expect(await ioState()).toBe('No');
    const waiting = instance.client.call(
      'wait_for_gtid',
      { position: UNREACHED, timeoutSeconds: 8 },
      { timeoutMs: 60_000 },
    );
    await waitFor(async () => (await ioState()) !== 'No', {
      timeoutMs: 20_000,
      what: 'the guest to start the stopped threads',
    });
    const result = await waiting;
    expect(result.isReached).toBe(false);
    await root.query('STOP SLAVE');
    await root.query('RESET SLAVE ALL');
  });
});
