import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { verifyPassword } from 'better-auth/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FLAVORS, MARIADB_PARAMETERS } from './catalog';
import {
  addMembership,
  createProject,
  createUserWithPassword,
  ensureCatalog,
  makeOperator,
} from './factories';
import { type TestDatabase, createTestDatabase } from './testing';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ mariadbVersion: '10.11.19' });
});

afterAll(async () => {
  await db?.drop();
});

describe('createUserWithPassword', () => {
  it('writes the rows better-auth email sign-up writes, with a verifiable hash', async () => {
    const password = 'correct horse battery staple';
    const user = await createUserWithPassword(db.prisma, {
      email: 'Ada@Example.test',
      name: 'Ada',
      password,
    });

    expect(user.email).toBe('ada@example.test');
    expect(user.id).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(user.emailVerified).toBe(false);
    const accounts = await db.prisma.account.findMany({ where: { userId: user.id } });
    expect(accounts).toHaveLength(1);
    const [account] = accounts;
    expect(account).toMatchObject({ providerId: 'credential', accountId: user.id });
    expect(account!.password).not.toContain(password);
    expect(await verifyPassword({ hash: account!.password!, password })).toBe(true);
    expect(await verifyPassword({ hash: account!.password!, password: 'wrong password' })).toBe(
      false,
    );
  });

  it('creates a user better-auth itself signs in', async () => {
    const password = 'a-long-enough-password-1';
    await createUserWithPassword(db.prisma, {
      email: 'grace@example.test',
      name: 'Grace',
      password,
    });
    const auth = betterAuth({
      baseURL: 'http://localhost:3000',
      secret: 'test-secret-test-secret-test-secret-0123',
      database: prismaAdapter(db.prisma, { provider: 'postgresql' }),
      emailAndPassword: { enabled: true },
      telemetry: { enabled: false },
      logger: { disabled: true },
    });

    const signedIn = await auth.api.signInEmail({
      body: { email: 'grace@example.test', password },
    });
    expect(signedIn.user.email).toBe('grace@example.test');
    expect(signedIn.token).toEqual(expect.any(String));
    expect(await db.prisma.session.count({ where: { userId: signedIn.user.id } })).toBe(1);

    await expect(
      auth.api.signInEmail({ body: { email: 'grace@example.test', password: 'not-the-password' } }),
    ).rejects.toThrow();
  });
});

describe('projects, memberships and operators', () => {
  it('creates a project owned by its creator, adds members, and makes operators idempotently', async () => {
    const owner = await createUserWithPassword(db.prisma, {
      email: 'owner@example.test',
      name: 'Owner',
      password: 'owner-password-1',
    });
    const member = await createUserWithPassword(db.prisma, {
      email: 'member@example.test',
      name: 'Member',
      password: 'member-password-1',
    });

    const project = await createProject(db.prisma, { name: 'Team', ownerUserId: owner.id });
    expect(
      await db.prisma.membership.findMany({
        where: { projectId: project.id },
        select: { userId: true, role: true },
      }),
    ).toEqual([{ userId: owner.id, role: 'OWNER' }]);

    await addMembership(db.prisma, { projectId: project.id, userId: member.id });
    const promoted = await addMembership(db.prisma, {
      projectId: project.id,
      userId: member.id,
      role: 'VIEWER',
    });
    expect(promoted.role).toBe('VIEWER');
    expect(await db.prisma.membership.count({ where: { projectId: project.id } })).toBe(2);

    await makeOperator(db.prisma, { userId: owner.id });
    await makeOperator(db.prisma, { userId: owner.id });
    expect(await db.prisma.operator.count({ where: { userId: owner.id } })).toBe(1);
  });
});

describe('ensureCatalog', () => {
  it('writes flavors, the MariaDB datastore, its default version and parameters, idempotently', async () => {
    // createTestDatabase already ran it once with 10.11.19.
    const catalog = await ensureCatalog(db.prisma, { mariadbVersion: '10.11.19' });

    expect(catalog.flavors.map((f) => f.name)).toEqual(FLAVORS.map((f) => f.name));
    expect(await db.prisma.flavor.count()).toBe(FLAVORS.length);
    expect(catalog.datastore).toMatchObject({ name: 'mariadb', manager: 'mariadb' });
    expect(catalog.version).toMatchObject({
      name: '10.11',
      version: '10.11.19',
      isDefault: true,
      isActive: true,
      replicationStrategy: 'GTID',
      backupStrategy: 'PHYSICAL',
    });
    expect(await db.prisma.datastoreVersion.count()).toBe(1);

    const parameters = await db.prisma.configurationParameter.findMany({
      where: { datastoreVersionId: catalog.version.id },
    });
    expect(parameters).toHaveLength(MARIADB_PARAMETERS.length);
    const byName = new Map(parameters.map((p) => [p.name, p]));
    expect(byName.get('max_connections')).toMatchObject({
      type: 'INTEGER',
      minValue: 10n,
      maxValue: 100_000n,
    });
    expect(byName.get('long_query_time')).toMatchObject({ type: 'FLOAT' });
    expect(byName.get('character_set_server')).toMatchObject({
      type: 'STRING',
      allowedValues: expect.arrayContaining(['utf8mb4']),
    });
    expect(byName.get('performance_schema')).toMatchObject({
      type: 'BOOLEAN',
      isRestartRequired: true,
    });
  });

  it('follows the installed version: a new patch updates the version, a new series becomes the default', async () => {
    const patched = await ensureCatalog(db.prisma, { mariadbVersion: '10.11.20' });
    expect(patched.version).toMatchObject({ name: '10.11', version: '10.11.20', isDefault: true });

    const upgraded = await ensureCatalog(db.prisma, { mariadbVersion: '11.4.5' });
    expect(upgraded.version).toMatchObject({ name: '11.4', isDefault: true });
    const versions = await db.prisma.datastoreVersion.findMany({ orderBy: { name: 'asc' } });
    expect(versions.map((v) => [v.name, v.isDefault])).toEqual([
      ['10.11', false],
      ['11.4', true],
    ]);

    await expect(ensureCatalog(db.prisma, { mariadbVersion: 'banana' })).rejects.toThrow(
      /not a MariaDB server version/,
    );
  });

  it("sets the version's backup and replication strategies when an operator chose them, and keeps them otherwise", async () => {
    const chosen = await ensureCatalog(db.prisma, {
      mariadbVersion: '11.4.5',
      strategies: { backup: 'LOGICAL', replication: 'BINLOG' },
    });
    expect(chosen.version).toMatchObject({
      backupStrategy: 'LOGICAL',
      replicationStrategy: 'BINLOG',
    });
    const kept = await ensureCatalog(db.prisma, { mariadbVersion: '11.4.5' });
    expect(kept.version).toMatchObject({
      backupStrategy: 'LOGICAL',
      replicationStrategy: 'BINLOG',
    });
    const back = await ensureCatalog(db.prisma, {
      mariadbVersion: '11.4.5',
      strategies: { backup: 'PHYSICAL' },
    });
    expect(back.version).toMatchObject({
      backupStrategy: 'PHYSICAL',
      replicationStrategy: 'BINLOG',
    });
  });
});
