import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { GUEST_AGENT_CONFIG_FILE, GUEST_INFO_FILE } from '@coffer/contracts';
import { isAlive } from '@coffer/testing/processes';
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
    // The server is started too, still before prepare, and the guest still says NEW.
    await waitFor(() => readFileSync(files.guestLog, 'utf8').includes('early start done'), {
      timeoutMs: 60_000,
      what: 'the early start',
    });
    const earlyPid = readFileSync(files.serverPidFile, 'utf8').trim();
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
    // Prepare's settings are the early ones (same size, no group): the server was kept.
    expect(log).toContain('adopted the running database server');
    expect(log).not.toContain('runs with other settings');
    expect(readFileSync(files.serverPidFile, 'utf8').trim()).toBe(earlyPid);
    // The server runs with prepare's configuration, not only the early one.
    expect(readFileSync(join(files.volumeDir, 'my.cnf'), 'utf8')).toContain(
      'innodb_buffer_pool_size',
    );
  });

  it('restarts the early server when prepare brings other settings', async () => {
    // Sized early for 1 GB, prepared for 512 MB: another my.cnf, so another server.
    const instance = await harness.createInstance({ preinstall: { memoryMb: 1024, vcpus: 1 } });
    const files = instanceFiles(harness.provider, instance.instanceId);
    await waitFor(() => readFileSync(files.guestLog, 'utf8').includes('early start done'), {
      timeoutMs: 60_000,
      what: 'the early start',
    });
    const earlyPid = readFileSync(files.serverPidFile, 'utf8').trim();
    const password = await harness.prepareApp(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'a RUNNING heartbeat');
    expect(readFileSync(files.guestLog, 'utf8')).toContain('runs with other settings: stopped');
    expect(readFileSync(files.serverPidFile, 'utf8').trim()).not.toBe(earlyPid);
    const connection = await connectTcp(instance.server.port, 'app_user', password, 'app');
    const [rows] = await connection.query('SELECT @@innodb_buffer_pool_size DIV 1048576 AS mb');
    await connection.end();
    const cnf = readFileSync(join(files.volumeDir, 'my.cnf'), 'utf8');
    expect(cnf).toContain(`innodb_buffer_pool_size = ${(rows as { mb: number }[])[0]!.mb}M`);
  });

  it('restarts the early server for the prepared size even when the guest restarted in between', async () => {
    // Sized early for 1 GB; the guest dies after the early start and comes back (its server
    // keeps running); prepare then asks for 512 MB: the server must not stay at 1 GB.
    const instance = await harness.createInstance({ preinstall: { memoryMb: 1024, vcpus: 1 } });
    const files = instanceFiles(harness.provider, instance.instanceId);
    await waitFor(() => readFileSync(files.guestLog, 'utf8').includes('early start done'), {
      timeoutMs: 60_000,
      what: 'the early start',
    });
    const earlyPid = readFileSync(files.serverPidFile, 'utf8').trim();
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    process.kill(guestPid, 'SIGKILL');
    await waitFor(() => !isAlive(guestPid), { timeoutMs: 5000, what: 'the guest to die' });
    expect(isAlive(Number(earlyPid))).toBe(true);
    await harness.provider.rebootServer(instance.instanceId);
    await waitFor(() => harness.provider.guestPid(instance.instanceId) !== guestPid, {
      timeoutMs: 10_000,
      what: 'the new guest',
    });
    const password = await harness.prepareApp(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'a RUNNING heartbeat');
    expect(readFileSync(files.guestLog, 'utf8')).toContain('runs with other settings: stopped');
    expect(readFileSync(files.serverPidFile, 'utf8').trim()).not.toBe(earlyPid);
    const connection = await connectTcp(instance.server.port, 'app_user', password, 'app');
    const [rows] = await connection.query('SELECT @@innodb_buffer_pool_size DIV 1048576 AS mb');
    await connection.end();
    const cnf = readFileSync(join(files.volumeDir, 'my.cnf'), 'utf8');
    expect(cnf).toContain(`innodb_buffer_pool_size = ${(rows as { mb: number }[])[0]!.mb}M`);
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
