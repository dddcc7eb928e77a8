import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { connectErrorCode, databasesSeen } from '@coffer/testing/sql-account';
import { waitFor } from '@coffer/testing/wait';
import { type RunningWorker } from '@coffer/worker';
import { TRPCError } from '@trpc/server';
import { Redis } from 'ioredis';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fieldErrorsOf } from '~/server/errors';
import { type Harness } from '~/test/harness';
import { waitForStatus } from '~/test/live';
import { endTestWorkerFile, startTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * Databases, users, access and root through the API, for real: the tRPC procedures as a
 * tenant calls them, the real worker (which alone talks to guests) in this process on a
 * queue of its own, a real guest and mariadbd through the local provider. What a created
 * account can then do is checked over TCP with mysql2; what the API refuses is checked on
 * the server itself, through root's socket.
 */

let worker: RunningWorker;
const suffix = randomUUID().slice(0, 8);
const queuePrefix = `test-db-${suffix}`;
const dataDir = testDataDir('web-db');
const h = useHarness({ env: { COFFER_QUEUE_PREFIX: queuePrefix } });

/** The instance every test here uses (creating one per test would take most of the time). */
let owner: Awaited<ReturnType<Harness['createProjectWithOwner']>>;
let instanceId: string;
let port: number;
let serverRoot: Connection;

beforeAll(async () => {
  worker = await startTestWorker(h, {
    dataDir,
    heartbeatExpirySeconds: 60,
    names: {
      queuePrefix,
      conductorStream: `test-db-conductor-${suffix}`,
      conductorGroup: `test-db-conductor-${suffix}`,
      keyPrefix: `test-db-${suffix}`,
    },
    // A guest that does not answer is given up on sooner than in production (see the SIGSTOP
    // test), yet late enough for seven calls at once on a loaded machine (8 s was not).
    tuning: { guestCallTimeoutMs: 20_000 },
  });

  owner = await h.createProjectWithOwner('Databases');
  const caller = h.callerFor(owner.owner);
  const flavor = (await caller.catalog.flavors())[0]!;
  const created = await caller.instance.create({
    projectId: owner.project.id,
    name: 'shop-db',
    flavorId: flavor.id,
    volumeSizeGb: 1,
    databases: [{ name: 'app' }],
  });
  instanceId = created.id;
  const live = await caller.instance.onChange({ projectId: owner.project.id, instanceId });
  await waitForStatus(live, instanceId, ['ACTIVE', 'ERROR'], 120_000);
  const instance = await caller.instance.get({ projectId: owner.project.id, instanceId });
  expect(instance.status).toBe('ACTIVE');
  port = instance.port!;
  serverRoot = await mysql.createConnection({ socketPath: socketOf(instanceId), user: 'root' });
}, 240_000);

afterAll(async () => {
  await serverRoot?.end();
  await endTestWorkerFile(worker, {
    dataDir,
    redisKeys: [`${queuePrefix}:*`, `test-db-conductor-${suffix}*`],
  });
}, 120_000);

function instanceDir(id: string): string {
  return join(dataDir, 'instances', id);
}

/** The server's socket (root@localhost is unix_socket only: how this test looks behind the API's back). */
function socketOf(id: string): string {
  const agent = JSON.parse(
    readFileSync(join(instanceDir(id), 'etc', 'guest-agent.json'), 'utf8'),
  ) as { datastore: { runDir: string } };
  return join(agent.datastore.runDir, 'mysqld.sock');
}

/** Everything a tenant's request could change on the server. */
async function serverState() {
  const [schemas] = await serverRoot.query(
    'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY 1',
  );
  const [users] = await serverRoot.query(
    'SELECT User AS user, Host AS host, authentication_string AS auth FROM mysql.user ORDER BY 1, 2',
  );
  const [grants] = await serverRoot.query(
    'SELECT User AS user, Host AS host, Db AS db FROM mysql.db ORDER BY 1, 2, 3',
  );
  return { schemas, users, grants };
}

/** A connection to the instance over TCP as `user` (to `database`, if given). */
function connectAs(user: string, password: string, database?: string) {
  return () =>
    mysql.createConnection({
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      connectTimeout: 10_000,
    });
}

function showDatabases(user: string, password: string): Promise<string[]> {
  return databasesSeen(connectAs(user, password));
}

/** Null when the account connects (to `database`, if given), else its error code. */
function connectError(user: string, password: string, database?: string): Promise<string | null> {
  return connectErrorCode(connectAs(user, password, database));
}

function errorOf(promise: Promise<unknown>): Promise<TRPCError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(TRPCError);
      return error as TRPCError;
    },
  );
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'OK',
    (error: unknown) => (error instanceof TRPCError ? error.code : String(error)),
  );

describe('databases and users on a real instance', () => {
  it('a created user sees exactly the databases granted, is refused after a revoke, and cannot connect once deleted', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };

    expect(
      await caller.database.create({
        ...at,
        name: 'shop',
        characterSet: 'utf8mb4',
        collation: 'utf8mb4_bin',
      }),
    ).toEqual({
      name: 'shop',
      characterSet: 'utf8mb4',
      collation: 'utf8mb4_bin',
    });
    await caller.database.create({ ...at, name: 'reports', characterSet: 'latin1' });
    const databases = await caller.database.list(at);
    expect(databases.map((database) => database.name)).toEqual(['app', 'reports', 'shop']);
    expect(databases.find((database) => database.name === 'reports')).toMatchObject({
      characterSet: 'latin1',
      collation: 'latin1_swedish_ci',
    });

    const password = 'Shop-app-Secret-' + randomUUID().slice(0, 8);
    expect(
      await caller.databaseUser.create({ ...at, name: 'shop_app', password, databases: ['shop'] }),
    ).toEqual({
      name: 'shop_app',
      host: '%',
      databases: ['shop'],
    });
    expect(await showDatabases('shop_app', password)).toEqual(['information_schema', 'shop']);

    // Root and the guest's own account are never listed.
    const users = await caller.databaseUser.list(at);
    expect(users).toEqual([{ name: 'shop_app', host: '%', databases: ['shop'] }]);

    expect(
      await caller.databaseUser.grantAccess({
        ...at,
        name: 'shop_app',
        host: '%',
        databases: ['reports'],
      }),
    ).toEqual({
      name: 'shop_app',
      host: '%',
      databases: ['reports', 'shop'],
    });
    expect(await showDatabases('shop_app', password)).toEqual([
      'information_schema',
      'reports',
      'shop',
    ]);
    expect(
      await caller.databaseUser.listAccess({ ...at, name: 'shop_app', host: '%' }),
    ).toMatchObject({ databases: ['reports', 'shop'] });

    await caller.databaseUser.revokeAccess({
      ...at,
      name: 'shop_app',
      host: '%',
      database: 'shop',
    });
    expect(await connectError('shop_app', password, 'shop')).toBe('ER_DBACCESS_DENIED_ERROR');
    expect(await showDatabases('shop_app', password)).toEqual(['information_schema', 'reports']);

    // A new password: the old one stops working.
    const newPassword = 'Shop-app-Renewed-' + randomUUID().slice(0, 8);
    await caller.databaseUser.update({ ...at, name: 'shop_app', host: '%', newPassword });
    expect(await connectError('shop_app', password)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await connectError('shop_app', newPassword, 'reports')).toBeNull();

    // A new host: the grants follow the account.
    expect(
      await caller.databaseUser.update({
        ...at,
        name: 'shop_app',
        host: '%',
        newHost: '127.0.0.1',
      }),
    ).toEqual({
      name: 'shop_app',
      host: '127.0.0.1',
      databases: ['reports'],
    });
    expect(await showDatabases('shop_app', newPassword)).toEqual(['information_schema', 'reports']);

    await caller.databaseUser.delete({ ...at, name: 'shop_app', host: '127.0.0.1' });
    expect(await connectError('shop_app', newPassword)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await caller.databaseUser.list(at)).toEqual([]);

    await caller.database.delete({ ...at, name: 'reports' });
    expect((await caller.database.list(at)).map((database) => database.name)).toEqual([
      'app',
      'shop',
    ]);

    // No password was stored in the control plane, and no answer waits in Redis.
    for (const secret of [password, newPassword]) {
      const row = await h.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
      expect(
        JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ).not.toContain(secret);
      const audit = await h.prisma.auditEvent.findMany({ where: { projectId: owner.project.id } });
      expect(JSON.stringify(audit)).not.toContain(secret);
    }
    const redis = new Redis(process.env.REDIS_URL!);
    const leftovers = (await redis.keys(`${queuePrefix}:taskmanager:*`)).filter((key) =>
      /:(database|user|access|root)\./.test(key),
    );
    await redis.quit();
    expect(leftovers).toEqual([]);
  }, 120_000);

  it('answers what the server refuses on the right field: an existing database, a missing one, an existing user', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const exists = await errorOf(caller.database.create({ ...at, name: 'shop' }));
    expect(exists.code).toBe('CONFLICT');
    expect(fieldErrorsOf(exists.cause)).toEqual({
      name: ['A database named shop already exists.'],
    });

    const missing = await errorOf(
      caller.databaseUser.create({
        ...at,
        name: 'ghost',
        password: 'Spooky-pw-12345',
        databases: ['nowhere'],
      }),
    );
    expect(missing.code).toBe('BAD_REQUEST');
    expect(fieldErrorsOf(missing.cause)).toEqual({
      databases: ['There is no database named nowhere.'],
    });

    await caller.databaseUser.create({
      ...at,
      name: 'twice',
      password: 'Second-pw-12345',
      databases: [],
    });
    const twice = await errorOf(
      caller.databaseUser.create({
        ...at,
        name: 'twice',
        password: 'Second-pw-67890',
        databases: [],
      }),
    );
    expect(twice.code).toBe('CONFLICT');
    expect(Object.keys(fieldErrorsOf(twice.cause) ?? {})).toEqual(['name']);
    expect(await codeOf(caller.database.delete({ ...at, name: 'nowhere' }))).toBe('NOT_FOUND');
    expect(
      await codeOf(
        caller.databaseUser.revokeAccess({ ...at, name: 'twice', host: '%', database: 'shop' }),
      ),
    ).toBe('NOT_FOUND');
    await caller.databaseUser.delete({ ...at, name: 'twice', host: '%' });
  }, 60_000);

  it('runs concurrent calls side by side (each job has an id of its own)', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const names = ['c1', 'c2', 'c3', 'c4'];
    const results = await Promise.all([
      ...names.map((name) => caller.database.create({ ...at, name })),
      caller.database.list(at),
      caller.database.list(at),
      caller.databaseUser.list(at),
    ]);
    expect(results.slice(0, 4).map((result) => (result as { name: string }).name)).toEqual(names);
    expect((await caller.database.list(at)).map((database) => database.name)).toEqual(
      expect.arrayContaining(names),
    );
    await Promise.all(names.map((name) => caller.database.delete({ ...at, name })));
  }, 60_000);
}, 180_000);

describe('root', () => {
  it('is enabled with a generated password that works over TCP, disabled so that it fails, and "ever enabled" stays', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    expect(await caller.rootAccess.get(at)).toEqual({
      isEnabled: false,
      isEverEnabled: false,
      enabledAt: null,
    });

    const enabled = await caller.rootAccess.enable(at);
    expect(enabled).toMatchObject({
      name: 'root',
      host: '%',
      status: { isEnabled: true, isEverEnabled: true },
    });
    expect(enabled.password).toMatch(/^[A-Za-z0-9]{24}$/);
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port,
      user: 'root',
      password: enabled.password,
    });
    const [[who]] = (await connection.query('SELECT CURRENT_USER() AS user')) as unknown as [
      [{ user: string }],
    ];
    expect(who.user).toBe('root@%');
    await connection.end();
    // The password is not stored anywhere in the control plane.
    const row = await h.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
    expect(
      JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ).not.toContain(enabled.password);
    expect(row.isRootEnabled).toBe(true);

    const disabled = await caller.rootAccess.disable(at);
    expect(disabled).toEqual({
      isEnabled: false,
      isEverEnabled: true,
      enabledAt: enabled.status.enabledAt,
    });
    expect(await connectError('root', enabled.password)).toBe('ER_ACCESS_DENIED_ERROR');
    expect(await caller.rootAccess.get(at)).toEqual(disabled);
    const after = await h.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
    expect(after).toMatchObject({ isRootEnabled: false, rootEnabledAt: enabled.status.enabledAt });
    // Root is never a tenant's user.
    expect((await caller.databaseUser.list(at)).map((user) => user.name)).not.toContain('root');
  }, 60_000);
});

describe('hostile input', () => {
  it('is answered with a field error, and nothing changes on the server', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const before = await serverState();
    const strong = 'Str0ng-password-99';
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      [
        'a backtick injection',
        () => caller.database.create({ ...at, name: 'x`; DROP DATABASE y; --' }),
        'name',
      ],
      [
        'a quote injection',
        () => caller.database.create({ ...at, name: "x'; DROP DATABASE shop; --" }),
        'name',
      ],
      ['a double quote', () => caller.database.create({ ...at, name: 'x"y' }), 'name'],
      ['a Cyrillic look-alike', () => caller.database.create({ ...at, name: 'shоp' }), 'name'],
      ['an over-long name', () => caller.database.create({ ...at, name: 'd'.repeat(65) }), 'name'],
      ['mysql as a database', () => caller.database.create({ ...at, name: 'mysql' }), 'name'],
      [
        'information_schema',
        () => caller.database.create({ ...at, name: 'information_schema' }),
        'name',
      ],
      [
        'performance_schema',
        () => caller.database.create({ ...at, name: 'performance_schema' }),
        'name',
      ],
      ['sys', () => caller.database.create({ ...at, name: 'sys' }), 'name'],
      [
        'an unknown character set',
        () => caller.database.create({ ...at, name: 'ok', characterSet: 'utf8mb4; DROP' }),
        'characterSet',
      ],
      [
        'a collation of another set',
        () =>
          caller.database.create({
            ...at,
            name: 'ok',
            characterSet: 'latin1',
            collation: 'utf8mb4_bin',
          }),
        'collation',
      ],
      ['dropping mysql', () => caller.database.delete({ ...at, name: 'mysql' }), 'name'],
      [
        'dropping with a backtick',
        () => caller.database.delete({ ...at, name: 'shop`; DROP DATABASE app; --' }),
        'name',
      ],
      [
        'a user named root',
        () => caller.databaseUser.create({ ...at, name: 'root', password: strong }),
        'name',
      ],
      [
        'a user named ROOT',
        () => caller.databaseUser.create({ ...at, name: 'ROOT', password: strong }),
        'name',
      ],
      [
        'the guest account',
        () => caller.databaseUser.create({ ...at, name: 'coffer_admin', password: strong }),
        'name',
      ],
      [
        'a user name injection',
        () =>
          caller.databaseUser.create({ ...at, name: "x'@'%'; DROP USER x; --", password: strong }),
        'name',
      ],
      [
        'a look-alike user',
        () => caller.databaseUser.create({ ...at, name: 'аpp_user', password: strong }),
        'name',
      ],
      [
        'an over-long user',
        () => caller.databaseUser.create({ ...at, name: 'u'.repeat(33), password: strong }),
        'name',
      ],
      [
        'a host name (skip-name-resolve)',
        () =>
          caller.databaseUser.create({
            ...at,
            name: 'web',
            host: 'web.example.com',
            password: strong,
          }),
        'host',
      ],
      [
        'a host injection',
        () =>
          caller.databaseUser.create({
            ...at,
            name: 'web',
            host: "%'; DROP USER x; --",
            password: strong,
          }),
        'host',
      ],
      [
        'a weak password',
        () => caller.databaseUser.create({ ...at, name: 'web', password: 'short' }),
        'password',
      ],
      [
        'a password with the name',
        () => caller.databaseUser.create({ ...at, name: 'webapp', password: 'my-webapp-pw-1' }),
        'password',
      ],
      [
        'a grant on mysql',
        () =>
          caller.databaseUser.create({
            ...at,
            name: 'web',
            password: strong,
            databases: ['mysql'],
          }),
        'databases.0',
      ],
      [
        'changing the guest account',
        () =>
          caller.databaseUser.update({
            ...at,
            name: 'coffer_admin',
            host: 'localhost',
            newPassword: strong,
          }),
        'name',
      ],
      [
        'moving a user to a host name',
        () =>
          caller.databaseUser.update({
            ...at,
            name: 'web',
            host: '%',
            newHost: 'evil.example.com',
          }),
        'newHost',
      ],
      [
        'deleting root',
        () => caller.databaseUser.delete({ ...at, name: 'root', host: 'localhost' }),
        'name',
      ],
      [
        'deleting mariadb.sys',
        () => caller.databaseUser.delete({ ...at, name: 'mariadb.sys', host: 'localhost' }),
        'name',
      ],
      [
        'granting sys',
        () =>
          caller.databaseUser.grantAccess({ ...at, name: 'web', host: '%', databases: ['sys'] }),
        'databases.0',
      ],
      [
        'revoking mysql',
        () =>
          caller.databaseUser.revokeAccess({ ...at, name: 'web', host: '%', database: 'mysql' }),
        'database',
      ],
    ];
    for (const [label, call, field] of cases) {
      const error = await errorOf(call());
      expect(error.code, label).toBe('BAD_REQUEST');
      expect(Object.keys(fieldErrorsOf(error.cause) ?? {}), label).toContain(field);
    }
    expect(await serverState()).toEqual(before);
  }, 60_000);
});

describe('every procedure is tenant-scoped', () => {
  const calls = (caller: ReturnType<Harness['callerFor']>, projectId: string, id: string) => ({
    'database.list': () => caller.database.list({ projectId, instanceId: id }),
    'database.create': () =>
      caller.database.create({ projectId, instanceId: id, name: 'intruder' }),
    'database.delete': () => caller.database.delete({ projectId, instanceId: id, name: 'app' }),
    'databaseUser.list': () => caller.databaseUser.list({ projectId, instanceId: id }),
    'databaseUser.create': () =>
      caller.databaseUser.create({
        projectId,
        instanceId: id,
        name: 'intruder',
        password: 'Elsewhere-pw-123',
      }),
    'databaseUser.update': () =>
      caller.databaseUser.update({
        projectId,
        instanceId: id,
        name: 'victim',
        host: '%',
        newPassword: 'Elsewhere-pw-123',
      }),
    'databaseUser.delete': () =>
      caller.databaseUser.delete({ projectId, instanceId: id, name: 'victim', host: '%' }),
    'databaseUser.listAccess': () =>
      caller.databaseUser.listAccess({ projectId, instanceId: id, name: 'victim', host: '%' }),
    'databaseUser.grantAccess': () =>
      caller.databaseUser.grantAccess({
        projectId,
        instanceId: id,
        name: 'victim',
        host: '%',
        databases: ['shop'],
      }),
    'databaseUser.revokeAccess': () =>
      caller.databaseUser.revokeAccess({
        projectId,
        instanceId: id,
        name: 'victim',
        host: '%',
        database: 'app',
      }),
    'rootAccess.get': () => caller.rootAccess.get({ projectId, instanceId: id }),
    'rootAccess.enable': () => caller.rootAccess.enable({ projectId, instanceId: id }),
    'rootAccess.disable': () => caller.rootAccess.disable({ projectId, instanceId: id }),
  });
  const READS = ['database.list', 'databaseUser.list', 'databaseUser.listAccess', 'rootAccess.get'];

  it("another project gets NOT_FOUND for every procedure, and nothing changes on the instance's server", async () => {
    const callerA = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    await callerA.databaseUser.create({
      ...at,
      name: 'victim',
      password: 'Target-pw-12345',
      databases: ['app'],
    });
    const before = await serverState();
    const b = await h.createProjectWithOwner('Intruders');
    const callerB = h.callerFor(b.owner);
    // B names its own project with A's instance, then A's project: not found either way.
    for (const [path, call] of Object.entries(calls(callerB, b.project.id, instanceId))) {
      expect(await codeOf(call()), `${path} in B's project`).toBe('NOT_FOUND');
    }
    for (const [path, call] of Object.entries(calls(callerB, owner.project.id, instanceId))) {
      expect(await codeOf(call()), `${path} in A's project`).toBe('NOT_FOUND');
    }
    expect(await serverState()).toEqual(before);
    expect(await h.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } })).toMatchObject({
      isRootEnabled: false,
    });
  }, 60_000);

  it('a viewer lists but cannot change anything', async () => {
    const viewer = await h.createUser('viewer');
    await h.addMembership(owner.project.id, viewer.id, 'VIEWER');
    const callerViewer = h.callerFor(viewer);
    const before = await serverState();
    for (const [path, call] of Object.entries(calls(callerViewer, owner.project.id, instanceId))) {
      expect(await codeOf(call()), path).toBe(READS.includes(path) ? 'OK' : 'FORBIDDEN');
    }
    expect(
      (await callerViewer.databaseUser.list({ projectId: owner.project.id, instanceId })).map(
        (user) => user.name,
      ),
    ).toEqual(['victim']);
    expect(await serverState()).toEqual(before);
    await h
      .callerFor(owner.owner)
      .databaseUser.delete({ projectId: owner.project.id, instanceId, name: 'victim', host: '%' });
  }, 60_000);
});

describe('an instance that cannot answer', () => {
  it('is refused at once when it is not ACTIVE', async () => {
    const caller = h.callerFor(owner.owner);
    const row = await h.insertInstance(owner.project.id, {
      name: 'still-building',
      taskStatus: 'BUILDING',
      serviceStatus: 'NEW',
    });
    const error = await errorOf(
      caller.database.list({ projectId: owner.project.id, instanceId: row.id }),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe(
      'The instance is BUILD: its databases, users and root can be managed while it is ACTIVE',
    );
    expect(
      await codeOf(caller.rootAccess.enable({ projectId: owner.project.id, instanceId: row.id })),
    ).toBe('CONFLICT');
    expect(await h.prisma.instance.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      isRootEnabled: false,
      rootEnabledAt: null,
    });
    await h.prisma.instance.delete({ where: { id: row.id } });
  });

  it('says so when its guest does not answer in time, and works again once it does', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const guestPid = (
      worker.provider as unknown as { guestPid(id: string): number | null }
    ).guestPid(instanceId);
    expect(guestPid).toBeGreaterThan(0);
    process.kill(guestPid!, 'SIGSTOP');
    try {
      const error = await errorOf(caller.database.create({ ...at, name: 'late' }));
      expect(error.code).toBe('SERVICE_UNAVAILABLE');
      expect(error.message).toMatch(/^The instance's guest did not answer within 20 s/);
    } finally {
      process.kill(guestPid!, 'SIGCONT');
    }
    // Stopped that long, its heartbeats lapsed: once they come again the instance is ACTIVE.
    await waitFor(() => caller.instance.get(at), {
      timeoutMs: 60_000,
      until: (instance) => instance.status === 'ACTIVE',
      what: 'the instance ACTIVE again',
    });
    // The unanswered job was withdrawn, so the database was never created.
    expect((await caller.database.list(at)).map((database) => database.name)).not.toContain('late');
  }, 60_000);
});
