import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { guestQueueName, type ConductorMessage, type GuestMethod } from '@coffer/contracts';
import { guestKeys, signBody } from '@coffer/contracts/crypto';
import { GuestRpcError } from '@coffer/guest-client';
import { connectErrorCode, databasesSeen } from '@coffer/testing/sql-account';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  connectTcp,
  GuestHarness,
  instanceFiles,
  REDIS_URL,
  type TestInstance,
} from '../test/harness';

/**
 * Databases, users, access and root on a real guest and mariadbd, as the taskmanager asks
 * for them: what a tenant's account can then do over TCP, what the guest refuses (and that
 * nothing changed), and that no password reaches the binary log.
 */

const isRunning = (message: ConductorMessage) =>
  message.kind === 'heartbeat' && message.payload.serviceStatus === 'RUNNING';

function password(): string {
  return `Pw${randomBytes(10).toString('hex')}7`;
}

describe('databases, users, access and root through the guest', () => {
  const harness = new GuestHarness(1);
  let instance: TestInstance;
  let port: number;
  let root: Connection;
  const passwords: string[] = [];

  beforeAll(async () => {
    instance = await harness.createInstance();
    port = instance.server.port;
    passwords.push(await harness.prepareApp(instance));
    await instance.conductor.waitFor(isRunning, 90_000, 'RUNNING');
    root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
  });

  afterAll(async () => {
    await root?.end();
    await harness.close();
  });

  const call = <M extends GuestMethod>(
    method: M,
    params: Parameters<TestInstance['client']['call']>[1] & object,
  ) => instance.client.call(method, params as never, { timeoutMs: 30_000 });

  /** `create_user` of `name`@`host` (`%` unless told) with `databases`, its password sealed for it. */
  const createUser = (
    name: string,
    databases: string[],
    { host = '%', secret = password() }: { host?: string; secret?: string } = {},
  ) =>
    call('create_user', {
      name,
      host,
      password: instance.client.sealUserPassword(name, secret),
      databases,
    });

  async function failureOf(promise: Promise<unknown>) {
    const error = await promise.then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(GuestRpcError);
    return (error as GuestRpcError).failure;
  }

  async function serverState() {
    const [schemas] = await root.query(
      'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY 1',
    );
    const [users] = await root.query(
      'SELECT User AS user, Host AS host FROM mysql.user ORDER BY 1, 2',
    );
    const [grants] = await root.query(
      'SELECT User AS user, Host AS host, Db AS db FROM mysql.db ORDER BY 1, 2, 3',
    );
    return { schemas, users, grants };
  }

  function showDatabases(user: string, secret: string): Promise<string[]> {
    return databasesSeen(() => connectTcp(port, user, secret));
  }

  /** Null when the account connects, else the error code (any "access denied" reads ER_ACCESS_DENIED_ERROR). */
  function connectError(user: string, secret: string, database?: string): Promise<string | null> {
    return connectErrorCode(() => connectTcp(port, user, secret, database));
  }

  it('creates, lists and deletes databases with their character sets', async () => {
    const created = await call('create_database', {
      name: 'shop',
      characterSet: 'latin1',
      collation: 'latin1_bin',
    });
    expect(created).toEqual({
      database: { name: 'shop', characterSet: 'latin1', collation: 'latin1_bin' },
    });
    await call('create_database', { name: 'Shop_2' });
    const { databases } = await call('list_databases', {});
    // In the server's order (names compare without case there).
    expect(databases.map((database) => database.name)).toEqual(['app', 'shop', 'Shop_2']);
    expect(databases.find((database) => database.name === 'Shop_2')).toMatchObject({
      characterSet: 'utf8mb4',
      collation: 'utf8mb4_unicode_ci',
    });
    // System schemas are never listed.
    expect(databases.map((database) => database.name)).not.toContain('mysql');

    expect(await failureOf(call('create_database', { name: 'shop' }))).toEqual({
      code: 'CONFLICT',
      field: 'name',
      message: 'A database named shop already exists.',
    });
    await call('delete_database', { name: 'Shop_2' });
    expect(await failureOf(call('delete_database', { name: 'Shop_2' }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'name',
    });
    expect((await call('list_databases', {})).databases.map((database) => database.name)).toEqual([
      'app',
      'shop',
    ]);
  });

  it('a created user sees exactly the databases granted, loses one on revoke, and cannot connect once deleted', async () => {
    await call('create_database', { name: 'reports' });
    const secret = password();
    const created = await createUser('shop_app', ['shop'], { secret });
    expect(created).toEqual({ user: { name: 'shop_app', host: '%', databases: ['shop'] } });
    expect(await showDatabases('shop_app', secret)).toEqual(['information_schema', 'shop']);

    expect(
      await call('grant_access', { name: 'shop_app', host: '%', databases: ['reports'] }),
    ).toEqual({
      databases: ['reports', 'shop'],
    });
    expect(await showDatabases('shop_app', secret)).toEqual([
      'information_schema',
      'reports',
      'shop',
    ]);
    expect(await call('list_access', { name: 'shop_app', host: '%' })).toEqual({
      databases: ['reports', 'shop'],
    });

    expect(await call('revoke_access', { name: 'shop_app', host: '%', database: 'shop' })).toEqual({
      databases: ['reports'],
    });
    expect(await connectError('shop_app', secret, 'shop')).toBe('ER_DBACCESS_DENIED_ERROR');
    expect(await showDatabases('shop_app', secret)).toEqual(['information_schema', 'reports']);
    expect(
      await failureOf(call('revoke_access', { name: 'shop_app', host: '%', database: 'shop' })),
    ).toMatchObject({
      code: 'NOT_FOUND',
      field: 'database',
    });

    // The list shows tenants' accounts with their access, never root, the guest's account or system ones.
    const { users } = await call('list_users', {});
    expect(users).toEqual([
      { name: 'app_user', host: '%', databases: ['app'] },
      { name: 'shop_app', host: '%', databases: ['reports'] },
    ]);

    expect(await failureOf(createUser('shop_app', []))).toMatchObject({
      code: 'CONFLICT',
      field: 'name',
    });
    expect(await failureOf(createUser('ghost', ['no_such_db']))).toMatchObject({
      code: 'BAD_REQUEST',
      field: 'databases',
    });
    // Nothing was left of the refused create.
    expect((await call('list_users', {})).users.map((user) => user.name)).not.toContain('ghost');

    await call('delete_user', { name: 'shop_app', host: '%' });
    expect(await connectError('shop_app', secret)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await failureOf(call('delete_user', { name: 'shop_app', host: '%' }))).toMatchObject({
      code: 'NOT_FOUND',
    });
    await call('delete_database', { name: 'reports' });
  });

  it('changes a password and a host; the grants follow the account', async () => {
    const first = password();
    await createUser('mover', ['app'], { host: '10.9.%', secret: first });
    // 10.9.% does not match this machine.
    expect(await connectError('mover', first)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(
      await call('update_user', { name: 'mover', host: '10.9.%', newHost: '127.0.0.1' }),
    ).toEqual({
      user: { name: 'mover', host: '127.0.0.1', databases: ['app'] },
    });
    expect(await showDatabases('mover', first)).toEqual(['app', 'information_schema']);

    const second = password();
    await call('update_user', {
      name: 'mover',
      host: '127.0.0.1',
      newPassword: instance.client.sealUserPassword('mover', second),
    });
    expect(await connectError('mover', first)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await connectError('mover', second, 'app')).toBeNull();
    passwords.push(first, second);

    expect(
      await failureOf(call('update_user', { name: 'nobody', host: '%', newHost: '127.0.0.1' })),
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    await createUser('mover', []);
    expect(
      await failureOf(call('update_user', { name: 'mover', host: '%', newHost: '127.0.0.1' })),
    ).toMatchObject({
      code: 'CONFLICT',
      field: 'newHost',
    });
    await call('delete_user', { name: 'mover', host: '%' });
    await call('delete_user', { name: 'mover', host: '127.0.0.1' });
  });

  it('enables root with the password it is sent, and disables it back to the socket only', async () => {
    const rootPassword = password();
    passwords.push(rootPassword);
    expect(await connectError('root', rootPassword)).toBe('ER_ACCESS_DENIED_ERROR');
    await call('enable_root', { password: instance.client.sealSecret(rootPassword, 'user:root') });
    const remote = await connectTcp(port, 'root', rootPassword);
    const [grants] = await remote.query('SHOW GRANTS');
    expect(JSON.stringify(grants)).toContain('ALL PRIVILEGES ON *.* TO `root`@`%`');
    await remote.end();
    // Root never shows in the tenant's user list.
    expect((await call('list_users', {})).users.map((user) => user.name)).toEqual(['app_user']);

    // Enabling again sets a new password.
    const again = password();
    passwords.push(again);
    await call('enable_root', { password: instance.client.sealSecret(again, 'user:root') });
    expect(await connectError('root', rootPassword)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await connectError('root', again)).toBeNull();

    await call('disable_root', {});
    expect(await connectError('root', again)).toBe('ER_ACCESS_DENIED_ERROR');
    const [remoteRoots] = await root.query(
      "SELECT Host FROM mysql.user WHERE User = 'root' AND Host <> 'localhost'",
    );
    expect(remoteRoots).toEqual([]);
    // OS root still gets in over the socket (that is how the tests look behind the guest's back).
    const [[who]] = (await root.query('SELECT CURRENT_USER() AS user')) as unknown as [
      [{ user: string }],
    ];
    expect(who.user).toBe('root@localhost');
  });

  it('refuses a password sealed for another user', async () => {
    const failure = await instance.client
      .call(
        'create_user',
        {
          name: 'thief',
          host: '%',
          password: instance.client.sealUserPassword('someone_else', password()),
          databases: [],
        },
        { timeoutMs: 30_000 },
      )
      .then(
        () => null,
        (error: unknown) => (error as GuestRpcError).guestMessage,
      );
    expect(failure).toMatch(/could not be opened/);
    expect((await call('list_users', {})).users.map((user) => user.name)).not.toContain('thief');
  });

  describe('a forged call that bypassed the API', () => {
    let queue: Queue;
    let events: QueueEvents;
    let eventsConnection: Redis;

    beforeAll(async () => {
      queue = new Queue(guestQueueName(instance.instanceId), { connection: harness.redis });
      eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      events = new QueueEvents(queue.name, { connection: eventsConnection });
      await events.waitUntilReady();
    });

    afterAll(async () => {
      await events.close();
      eventsConnection.disconnect();
      await queue.close();
    });

    /** A correctly signed job (as if the control plane were fooled), with params the API would never send. */
    async function sendSigned(method: string, params: unknown): Promise<string> {
      const body = JSON.stringify({
        instanceId: instance.instanceId,
        method,
        params,
        requestId: randomUUID(),
        sentAt: Date.now(),
        expiresAt: Date.now() + 60_000,
      });
      const job = await queue.add(method, {
        body,
        signature: signBody(guestKeys(instance.guestSecret).signing, body),
      });
      try {
        await job.waitUntilFinished(events, 20_000);
        return 'completed';
      } catch (error) {
        return (error as Error).message;
      }
    }

    it('is refused with nothing changed on the server', async () => {
      const before = await serverState();
      const sealed = instance.client.sealUserPassword('x', password());
      const attempts: [string, unknown][] = [
        ['create_database', { name: 'x`; DROP DATABASE app; --' }],
        ['create_database', { name: "x'; DROP DATABASE app; --" }],
        ['create_database', { name: 'аpp' }],
        ['create_database', { name: 'd'.repeat(65) }],
        ['create_database', { name: 'mysql' }],
        ['delete_database', { name: 'mysql' }],
        ['delete_database', { name: 'app`; DROP DATABASE shop; --' }],
        ['create_user', { name: 'root', host: '%', password: sealed, databases: [] }],
        ['create_user', { name: 'coffer_admin', host: '%', password: sealed, databases: [] }],
        [
          'create_user',
          { name: 'x', host: "%'; DROP USER app_user; --", password: sealed, databases: [] },
        ],
        ['update_user', { name: 'coffer_admin', host: 'localhost', newHost: '%' }],
        ['delete_user', { name: 'root', host: 'localhost' }],
        ['delete_user', { name: 'coffer_admin', host: 'localhost' }],
        ['grant_access', { name: 'app_user', host: '%', databases: ['mysql'] }],
        ['revoke_access', { name: 'app_user', host: '%', database: 'app`.* FROM x; --' }],
      ];
      for (const [method, params] of attempts) {
        expect(await sendSigned(method, params), `${method} ${JSON.stringify(params)}`).toMatch(
          /^refused: invalid params/,
        );
      }
      expect(await serverState()).toEqual(before);
    });
  });

  it('never writes a password into the binary log', async () => {
    const dataDir = instanceFiles(harness.provider, instance.instanceId).root;
    const binlogs: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/^mysql-bin\.[0-9]+$/.test(entry.name)) binlogs.push(path);
      }
    };
    walk(dataDir);
    expect(binlogs.length).toBeGreaterThan(0);
    const text = binlogs.map((path) => readFileSync(path).toString('latin1')).join('\n');
    expect(text).toContain('IDENTIFIED BY PASSWORD');
    for (const secret of passwords) expect(text).not.toContain(secret);
  });
});
