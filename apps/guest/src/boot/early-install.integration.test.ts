import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { GUEST_AGENT_CONFIG_FILE, GUEST_INFO_FILE } from '@coffer/contracts';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, describe, expect, it } from 'vitest';

import { connectTcp, GuestHarness, instanceFiles, isStatus } from '../../test/harness';
import { EARLY_AGENT_CONFIG_FILE, EARLY_GUEST_INFO_FILE } from './early-install';

describe('the early install', () => {
  const harness = new GuestHarness(0.5);
  afterAll(() => harness.close());

  it('reads the same injected files as the agent', () => {
    expect(EARLY_GUEST_INFO_FILE).toBe(GUEST_INFO_FILE);
    expect(EARLY_AGENT_CONFIG_FILE).toBe(GUEST_AGENT_CONFIG_FILE);
  });

  it('installs the datadir while the guest boots, before prepare, and prepare then finishes the server', async () => {
    const instance = await harness.createInstance({ preinstall: { memoryMb: 512, vcpus: 1 } });
    const files = instanceFiles(harness.provider, instance.instanceId);
    const datadir = join(files.volumeDir, 'data', 'mysql');
    // No prepare sent yet: the system tables appear anyway, and the guest still says NEW.
    await waitFor(() => existsSync(datadir), {
      timeoutMs: 60_000,
      what: 'the early-installed datadir',
    });
    await instance.conductor.waitFor(isStatus('NEW'), 20_000, 'a NEW heartbeat');
    expect(instance.conductor.received.some(({ message }) => isStatus('RUNNING')(message))).toBe(
      false,
    );

    const password = await harness.prepareApp(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'a RUNNING heartbeat');
    const connection = await connectTcp(instance.server.port, 'app_user', password, 'app');
    const [rows] = await connection.query('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
    await connection.end();
    const log = readFileSync(files.guestLog, 'utf8');
    expect(log).toContain('early install done');
    // The server runs with prepare's configuration, not only the early one.
    expect(readFileSync(join(files.volumeDir, 'my.cnf'), 'utf8')).toContain(
      'innodb_buffer_pool_size',
    );
  });

  it('waits for prepare when the agent config says nothing of the server size', async () => {
    const instance = await harness.createInstance();
    const files = instanceFiles(harness.provider, instance.instanceId);
    // Several heartbeats go by (the guest is up and idle) and no datadir appears.
    let heartbeats = 0;
    await instance.conductor.waitFor(
      (message) => message.kind === 'heartbeat' && ++heartbeats >= 4,
      30_000,
      'four heartbeats',
    );
    expect(existsSync(join(files.volumeDir, 'data'))).toBe(false);
    expect(existsSync(join(files.volumeDir, 'data.installing'))).toBe(false);
  });
});
