import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { isAlive, readPid, rssMib } from '@coffer/testing/processes';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  connectTcp,
  GuestHarness,
  instanceFiles,
  isStatus,
  type TestInstance,
} from '../test/harness';

/**
 * One instance through its life, with a real guest (the bundle, as the local provider runs
 * it) and a real mariadbd: create, prepare, use, restart, crash, reboot, stop, delete.
 */

describe('a guest and its server, through their life', () => {
  const harness = new GuestHarness(0.5);
  let instance: TestInstance;
  let appPassword: string;
  let files: ReturnType<typeof instanceFiles>;
  let timeToRunningMs: number;

  beforeAll(async () => {
    const startedAt = Date.now();
    instance = await harness.createInstance();
    files = instanceFiles(harness.provider, instance.instanceId);
    appPassword = `pw${Math.random().toString(36).slice(2)}Z9`;
    await instance.client.cast('prepare', {
      memoryMb: 512,
      vcpus: 1,
      databases: [
        { name: 'app' },
        { name: 'my_db', characterSet: 'utf8mb4', collation: 'utf8mb4_bin' },
        { name: 'myxdb' },
      ],
      users: [
        {
          name: 'app_user',
          host: '%',
          password: instance.client.sealUserPassword('app_user', appPassword),
          databases: ['app', 'my_db'],
        },
      ],
    });
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'a RUNNING heartbeat');
    timeToRunningMs = Date.now() - startedAt;
  });

  afterAll(() => harness.close());

  it('reports NEW, then BUILDING, then RUNNING, each verified and in sequence', () => {
    const statuses = instance.conductor.received.flatMap(({ message }) =>
      message.kind === 'heartbeat' ? [message.payload.serviceStatus] : [],
    );
    expect(statuses.at(-1)).toBe('RUNNING');
    expect(statuses).toContain('BUILDING');
    expect(statuses.indexOf('BUILDING')).toBeLessThan(statuses.indexOf('RUNNING'));
    const seqs = instance.conductor.received.map(({ message }) => message.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const running = instance.conductor.received.at(-1)!.message;
    expect(running.kind === 'heartbeat' && running.payload.serverVersion).toMatch(/MariaDB/);
    console.info(`createServer → RUNNING heartbeat: ${timeToRunningMs} ms`);
  });

  it('gives the app user its databases over TCP, and nothing else', async () => {
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    try {
      const [rows] = await connection.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
      await connection.query('CREATE TABLE app.notes (id INT PRIMARY KEY, body TEXT)');
      await connection.query('INSERT INTO app.notes VALUES (1, ?)', ['hello']);
      await connection.query('CREATE TABLE my_db.t (id INT)');
      // The grant on my_db is for my_db only: `_` is not a wildcard there.
      await expect(connection.query('CREATE TABLE myxdb.t (id INT)')).rejects.toThrow(/denied/);
      await expect(connection.query('SELECT * FROM mysql.user')).rejects.toThrow(/denied/);
      const [databases] = await connection.query('SHOW DATABASES');
      expect((databases as { Database: string }[]).map((row) => row.Database).sort()).toEqual([
        'app',
        'information_schema',
        'my_db',
      ]);
      const [charset] = await connection.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS coll FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'my_db'",
      );
      expect(charset).toEqual([{ cs: 'utf8mb4', coll: 'utf8mb4_bin' }]);
    } finally {
      await connection.end();
    }
  });

  it('leaves no way in as root, or as the guest account, over TCP', async () => {
    for (const password of [undefined, '', 'root', appPassword]) {
      await expect(
        connectTcp(instance.server.port, 'root', password),
        `root with ${JSON.stringify(password)}`,
      ).rejects.toThrow(/Access denied/);
    }
    await expect(connectTcp(instance.server.port, 'coffer_admin', '')).rejects.toThrow(
      /Access denied/,
    );
    await expect(connectTcp(instance.server.port, 'coffer_admin')).rejects.toThrow(/Access denied/);
    await expect(connectTcp(instance.server.port, '', '')).rejects.toThrow(/Access denied/);

    const root = await connectAsRoot(files.socket);
    try {
      const [rows] = await root.query(
        'SELECT User AS user, Host AS host, plugin FROM mysql.user ORDER BY User, Host',
      );
      // install-db's own accounts (mariadb.sys, locked; the OS user mariadbd runs as, by
      // unix_socket) may be there too; what matters is who can log in, and how.
      const accounts = (rows as { user: string; host: string; plugin: string }[]).filter(
        ({ user }) => user !== 'mariadb.sys' && user !== 'mysql',
      );
      expect(accounts).toEqual([
        { user: 'app_user', host: '%', plugin: 'mysql_native_password' },
        { user: 'coffer_admin', host: 'localhost', plugin: 'mysql_native_password' },
        { user: 'root', host: 'localhost', plugin: 'unix_socket' },
      ]);
      const [proxies] = await root.query(
        "SELECT Host AS host FROM mysql.proxies_priv WHERE Host <> 'localhost'",
      );
      expect(proxies).toEqual([]);
    } finally {
      await root.end();
    }
    // The guest's credentials are root's alone.
    const adminCnf = join(files.root, 'etc', 'coffer-admin.cnf');
    expect((await import('node:fs')).statSync(adminCnf).mode & 0o777).toBe(0o600);
  });

  it('stays small when idle', async () => {
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    const serverPid = readPid(files.serverPidFile)!;
    // Let a few heartbeats pass, so the figure is the idle one.
    await instance.conductor.waitFor(isStatus('RUNNING'), 5000, 'a heartbeat');
    await instance.conductor.waitFor(isStatus('RUNNING'), 5000, 'a heartbeat');
    const guestRss = rssMib(guestPid)!;
    const serverRss = rssMib(serverPid)!;
    console.info(
      `idle RSS: guest ${guestRss.toFixed(1)} MB, mariadbd (512 MB flavor) ${serverRss.toFixed(1)} MB`,
    );
    expect(guestRss).toBeLessThanOrEqual(80);
  });

  it('answers get_status and restarts the server on call', async () => {
    expect(await instance.client.call('get_status', {}, { timeoutMs: 10_000 })).toMatchObject({
      serviceStatus: 'RUNNING',
    });
    const before = readPid(files.serverPidFile);
    await expect(instance.client.call('restart', {}, { timeoutMs: 60_000 })).resolves.toEqual({});
    const after = readPid(files.serverPidFile);
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    const [rows] = await connection.query('SELECT body FROM notes WHERE id = 1');
    expect(rows).toEqual([{ body: 'hello' }]);
    await connection.end();
    expect(await instance.client.call('get_status', {}, { timeoutMs: 10_000 })).toMatchObject({
      serviceStatus: 'RUNNING',
    });
  });

  it('says so, within a few beats, when the server does not answer, and recovers when it does', async () => {
    const serverPid = readPid(files.serverPidFile)!;
    process.kill(serverPid, 'SIGSTOP');
    try {
      // Heartbeats keep coming (the ping has a timeout), and turn CRASHED after the grace period.
      await instance.conductor.waitFor(isStatus('CRASHED'), 20_000, 'CRASHED for a frozen server');
    } finally {
      process.kill(serverPid, 'SIGCONT');
    }
    await instance.conductor.waitFor(isStatus('RUNNING'), 20_000, 'RUNNING again');
  });

  it('says CRASHED when the server is killed, and brings it back when the guest restarts', async () => {
    const serverPid = readPid(files.serverPidFile)!;
    process.kill(serverPid, 'SIGKILL');
    await instance.conductor.waitFor(
      isStatus('CRASHED', 'SHUTDOWN'),
      5000,
      'CRASHED after kill -9 of mariadbd',
    );

    // Kill the guest too: heartbeats stop and the server is no longer ACTIVE.
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    process.kill(guestPid, 'SIGKILL');
    await waitFor(() => !isAlive(guestPid), { timeoutMs: 5000, what: 'the guest to die' });
    await instance.conductor.read(100); // whatever was sent before it died
    expect(await instance.conductor.isSilentFor(2000)).toBe(true);
    expect((await harness.provider.getServer(instance.instanceId))?.status).toBe('SHUTOFF');

    // A retried create restarts the guest, which brings its server back (prepared before).
    const seenBefore = instance.conductor.received.length;
    const again = await harness.recreateServer(instance);
    expect(again).toEqual({ ...instance.server, status: 'ACTIVE' });
    await instance.conductor.waitFor(
      isStatus('RUNNING'),
      60_000,
      'RUNNING after the guest came back',
    );
    // A prepared instance's guest never says NEW or BUILDING when it comes back.
    const since = instance.conductor.received
      .slice(seenBefore)
      .map(({ message }) =>
        message.kind === 'heartbeat' ? message.payload.serviceStatus : message.kind,
      );
    expect(since).not.toContain('NEW');
    expect(since).not.toContain('BUILDING');
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    await connection.end();
  });

  it('finishes a prepare retried after a crash halfway', async () => {
    // As if the guest died after install-db and start, before it wrote the prepared marker.
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    process.kill(guestPid, 'SIGKILL');
    await waitFor(() => !isAlive(guestPid), { timeoutMs: 5000, what: 'the guest to die' });
    rmSync(join(files.root, 'data', '.coffer-prepared'));
    await harness.provider.rebootServer(instance.instanceId);
    await instance.conductor.waitFor(
      isStatus('NEW'),
      30_000,
      'NEW (not prepared) after the restart',
    );
    const newPassword = `pw${Math.random().toString(36).slice(2)}Q7`;
    const result = await instance.client.call(
      'prepare',
      {
        memoryMb: 512,
        vcpus: 1,
        databases: [{ name: 'app' }],
        users: [
          {
            name: 'app_user',
            host: '%',
            password: instance.client.sealUserPassword('app_user', newPassword),
            databases: ['app'],
          },
        ],
      },
      { timeoutMs: 60_000 },
    );
    expect(result.serverVersion).toMatch(/^10\.11/);
    await instance.conductor.waitFor(
      isStatus('RUNNING'),
      10_000,
      'RUNNING after the retried prepare',
    );
    appPassword = newPassword;
    const connection = await connectTcp(instance.server.port, 'app_user', appPassword, 'app');
    const [rows] = await connection.query('SELECT body FROM notes WHERE id = 1');
    expect(rows).toEqual([{ body: 'hello' }]);
    await connection.end();
  });

  it('reboots: the guest stops its server cleanly and starts it again', async () => {
    const serverBefore = readPid(files.serverPidFile)!;
    await harness.provider.rebootServer(instance.instanceId);
    expect(isAlive(serverBefore)).toBe(false);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'RUNNING after the reboot');
    expect(readPid(files.serverPidFile)).not.toBe(serverBefore);
  });

  it('stops its server cleanly on SIGTERM and says SHUTDOWN last', async () => {
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    const serverPid = readPid(files.serverPidFile)!;
    const logBefore = readFileSync(files.errorLog, 'utf8').length;
    process.kill(guestPid, 'SIGTERM');
    await waitFor(() => !isAlive(guestPid), { timeoutMs: 30_000, what: 'the guest to exit' });
    expect(isAlive(serverPid)).toBe(false);
    expect(existsSync(files.serverPidFile)).toBe(false);
    expect(readFileSync(files.errorLog, 'utf8').slice(logBefore)).toMatch(/Shutdown complete/);
    await instance.conductor.waitFor(isStatus('SHUTDOWN'), 5000, 'the last SHUTDOWN heartbeat');
    expect(await instance.conductor.isSilentFor(1500)).toBe(true);
    expect(readFileSync(files.guestLog, 'utf8')).toMatch(/"msg":"guest stopped"/);
  });

  it('is deleted without leaving anything behind, twice', async () => {
    await harness.recreateServer(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 60_000, 'RUNNING before the delete');
    const guestPid = harness.provider.guestPid(instance.instanceId)!;
    const serverPid = readPid(files.serverPidFile)!;
    await harness.provider.deleteServer(instance.instanceId);
    expect(isAlive(guestPid)).toBe(false);
    expect(isAlive(serverPid)).toBe(false);
    expect(existsSync(files.root)).toBe(false);
    expect(existsSync(files.runDir)).toBe(false);
    expect(await harness.provider.getServer(instance.instanceId)).toBeNull();
    await harness.provider.deleteServer(instance.instanceId);
    expect(await harness.provider.listServers()).toEqual([]);
  });
});
