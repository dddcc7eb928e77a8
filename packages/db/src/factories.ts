import { randomUUID } from 'node:crypto';

import { backupLocation } from '@coffer/contracts';
import { generateRandomString, hashPassword } from 'better-auth/crypto';

import { FLAVORS, MARIADB_DATASTORE, MARIADB_PARAMETERS, mariadbVersionName } from './catalog';
import type {
  BackupStrategy,
  Datastore,
  DatastoreVersion,
  Flavor,
  Membership,
  Operator,
  Prisma,
  Project,
  ProjectRole,
  ReplicationStrategy,
  User,
} from './generated/prisma/client';
import type { DbClient } from './index';

/**
 * Factories for the seed, integration tests and end-to-end tests. They write rows the way
 * the application would, so that what they create behaves like the real thing.
 */

export { FLAVORS, MARIADB_DATASTORE, MARIADB_PARAMETERS, mariadbVersionName } from './catalog';

/** better-auth's id format (its default generateId: 32 characters of [a-zA-Z0-9]). */
export function generateAuthId(): string {
  return generateRandomString(32, 'a-z', 'A-Z', '0-9');
}

export interface CreateUserWithPasswordInput {
  email: string;
  name: string;
  password: string;
  emailVerified?: boolean;
}

/**
 * A user who can sign in with email and password: the users and accounts rows that
 * better-auth's email sign-up writes (email lower-cased, a "credential" account whose
 * accountId is the user id, the password hashed with better-auth's scrypt hashPassword).
 */
export async function createUserWithPassword(
  db: DbClient,
  { password, ...user }: CreateUserWithPasswordInput,
): Promise<User> {
  if (!password) throw new Error('createUserWithPassword: password must not be empty');
  return createUserWithPasswordHash(db, { ...user, passwordHash: await hashPassword(password) });
}

/**
 * createUserWithPassword() with a hash made beforehand by better-auth's hashPassword (for
 * callers that must not hash inside a transaction: scrypt is deliberately slow).
 */
export async function createUserWithPasswordHash(
  db: DbClient,
  {
    email,
    name,
    passwordHash,
    emailVerified = false,
  }: Omit<CreateUserWithPasswordInput, 'password'> & { passwordHash: string },
): Promise<User> {
  const id = generateAuthId();
  return db.user.create({
    data: {
      id,
      email: email.toLowerCase(),
      name,
      emailVerified,
      accounts: {
        create: {
          id: generateAuthId(),
          providerId: 'credential',
          accountId: id,
          password: passwordHash,
        },
      },
    },
  });
}

/** A project with its owner's membership. */
export async function createProject(
  db: DbClient,
  { name, ownerUserId }: { name: string; ownerUserId: string },
): Promise<Project> {
  return db.project.create({
    data: { name, memberships: { create: { userId: ownerUserId, role: 'OWNER' } } },
  });
}

/** Adds a user to a project, or changes their role if they are a member already. */
export async function addMembership(
  db: DbClient,
  { projectId, userId, role = 'MEMBER' }: { projectId: string; userId: string; role?: ProjectRole },
): Promise<Membership> {
  return db.membership.upsert({
    where: { projectId_userId: { projectId, userId } },
    create: { projectId, userId, role },
    update: { role },
  });
}

/** Makes a user an operator (idempotent). */
export async function makeOperator(
  db: DbClient,
  { userId }: { userId: string },
): Promise<Operator> {
  return db.operator.upsert({ where: { userId }, create: { userId }, update: {} });
}

/**
 * A backup row of `instance` written by hand, as a test starts from it: FULL, NEW, in the local
 * store at the location the domain would give it; `data` adds or overrides fields. Answers its id.
 */
export async function createBackupRow(
  db: DbClient,
  instance: { id: string; projectId: string; name: string; datastoreVersionId: string },
  data: Partial<Prisma.BackupUncheckedCreateInput> = {},
): Promise<string> {
  const id = data.id ?? randomUUID();
  await db.backup.create({
    data: {
      id,
      projectId: instance.projectId,
      instanceId: instance.id,
      instanceName: instance.name,
      name: `backup ${id.slice(0, 8)}`,
      type: 'FULL',
      datastoreVersionId: instance.datastoreVersionId,
      storeKind: 'local',
      location: backupLocation(instance.projectId, id),
      ...data,
    },
  });
  return id;
}

/** Serialises concurrent ensureCatalog() calls (any constant will do). */
const CATALOG_LOCK = 0x636f666665722d63n; // "coffer-c"

export interface Catalog {
  flavors: Flavor[];
  datastore: Datastore;
  /** The default MariaDB version: the one installed on this machine. */
  version: DatastoreVersion;
}

/**
 * Writes the catalog (idempotent): the flavors, the MariaDB datastore, the installed
 * version (e.g. "10.11.19" as version "10.11", made the default; GTID replication and
 * physical backups unless `strategies` says otherwise) and its configuration parameters.
 *
 * Existing flavors are left as they are (instances use them; an operator may have changed
 * them). Parameter rules and the version's full version string are brought up to date.
 */
export async function ensureCatalog(
  db: DbClient,
  {
    mariadbVersion,
    strategies = {},
  }: {
    mariadbVersion: string;
    /** The version's strategies, when an operator set them (else new versions get GTID and PHYSICAL, existing ones keep theirs). */
    strategies?: { backup?: BackupStrategy; replication?: ReplicationStrategy };
  },
): Promise<Catalog> {
  const versionName = mariadbVersionName(mariadbVersion);
  const write = async (tx: DbClient): Promise<Catalog> => {
    // Concurrent seeds take turns (the upserts below are read-then-write).
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CATALOG_LOCK})`;
    const flavors: Flavor[] = [];
    for (const flavor of FLAVORS) {
      flavors.push(
        await tx.flavor.upsert({ where: { name: flavor.name }, create: flavor, update: {} }),
      );
    }
    const datastore = await tx.datastore.upsert({
      where: { name: MARIADB_DATASTORE.name },
      create: MARIADB_DATASTORE,
      update: { manager: MARIADB_DATASTORE.manager },
    });
    await tx.datastoreVersion.updateMany({
      where: { datastoreId: datastore.id, name: { not: versionName }, isDefault: true },
      data: { isDefault: false },
    });
    const version = await tx.datastoreVersion.upsert({
      where: { datastoreId_name: { datastoreId: datastore.id, name: versionName } },
      create: {
        datastoreId: datastore.id,
        name: versionName,
        version: mariadbVersion,
        isActive: true,
        isDefault: true,
        replicationStrategy: strategies.replication ?? 'GTID',
        backupStrategy: strategies.backup ?? 'PHYSICAL',
      },
      update: {
        version: mariadbVersion,
        isActive: true,
        isDefault: true,
        ...(strategies.replication ? { replicationStrategy: strategies.replication } : {}),
        ...(strategies.backup ? { backupStrategy: strategies.backup } : {}),
      },
    });
    for (const parameter of MARIADB_PARAMETERS) {
      const rule = {
        type: parameter.type,
        minValue: parameter.min ?? null,
        maxValue: parameter.max ?? null,
        allowedValues: [...(parameter.allowedValues ?? [])],
        isRestartRequired: parameter.isRestartRequired,
      };
      await tx.configurationParameter.upsert({
        where: {
          datastoreVersionId_name: { datastoreVersionId: version.id, name: parameter.name },
        },
        create: { datastoreVersionId: version.id, name: parameter.name, ...rule },
        update: rule,
      });
    }
    return { flavors, datastore, version };
  };
  // Concurrent seeds wait for each other's lock inside the transaction: on a loaded machine
  // that alone can pass Prisma's default 5 s.
  return '$transaction' in db
    ? db.$transaction(write, { maxWait: 60_000, timeout: 120_000 })
    : write(db);
}
