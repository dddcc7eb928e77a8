import {
  databaseNameSchema,
  isReservedUserName,
  userHostSchema,
  userNameSchema,
  type DatabaseUserInfo,
} from '@coffer/contracts';
import { type Connection, type RowDataPacket } from 'mysql2/promise';

import { requireDatabases } from './databases';
import { grantAll, readAccess } from './grants';
import { nativePasswordHash, querySecret } from './password-hash';
import { accountName, ER_CANNOT_USER, errnoOf, refuse } from './refusals';

function isHiddenUser(name: string): boolean {
  return name === '' || isReservedUserName(name);
}

/** The tenant's accounts with their databases: root, the guest's own account, system accounts and roles left out. */
export async function listUsers(connection: Connection): Promise<DatabaseUserInfo[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT User AS name, Host AS host FROM mysql.user WHERE is_role = 'N' ORDER BY User, Host",
  );
  const access = await readAccess(connection);
  return rows
    .map((row) => ({ name: String(row.name), host: String(row.host) }))
    .filter((user) => !isHiddenUser(user.name))
    .map((user) => ({ ...user, databases: access.get(accountName(user.name, user.host)) ?? [] }));
}

export async function userExists(
  connection: Connection,
  name: string,
  host: string,
): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?',
    [name, host],
  );
  return rows.length > 0;
}

export async function requireUser(
  connection: Connection,
  name: string,
  host: string,
): Promise<void> {
  if (!(await userExists(connection, name, host))) {
    refuse({
      code: 'NOT_FOUND',
      field: 'name',
      message: `There is no user ${accountName(name, host)}.`,
    });
  }
}

export interface UserToCreate {
  name: string;
  host: string;
  password: string;
  databases: string[];
}

/**
 * Creates an account and grants it everything on each database. At prepare time it is
 * idempotent (an existing account gets the password); asked for later (`mustNotExist`), an
 * existing account is a CONFLICT, a database that does not exist a BAD_REQUEST, and a failed
 * grant takes the new account back.
 */
export async function createUser(
  connection: Connection,
  user: UserToCreate,
  { mustNotExist = false }: { mustNotExist?: boolean } = {},
): Promise<DatabaseUserInfo> {
  const name = userNameSchema.parse(user.name);
  const host = userHostSchema.parse(user.host);
  const databases = [
    ...new Set(user.databases.map((database) => databaseNameSchema.parse(database))),
  ];
  if (user.password.length === 0) throw new Error(`user ${name} has an empty password`);
  const hash = nativePasswordHash(user.password);
  if (!mustNotExist) {
    await querySecret(connection, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [
      name,
      host,
      hash,
    ]);
    await querySecret(connection, 'ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [name, host, hash]);
    await grantAll(connection, name, host, databases);
    return {
      name,
      host,
      databases: (await readAccess(connection, { name, host })).get(accountName(name, host)) ?? [],
    };
  }
  await requireDatabases(connection, databases);
  try {
    await querySecret(connection, 'CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [name, host, hash]);
  } catch (error) {
    if (errnoOf(error) === ER_CANNOT_USER) {
      refuse({
        code: 'CONFLICT',
        field: 'name',
        message: `The user ${accountName(name, host)} already exists.`,
      });
    }
    throw error;
  }
  try {
    await grantAll(connection, name, host, databases);
  } catch (error) {
    await connection.query('DROP USER IF EXISTS ?@?', [name, host]).catch(() => undefined);
    throw error;
  }
  return {
    name,
    host,
    databases: (await readAccess(connection, { name, host })).get(accountName(name, host)) ?? [],
  };
}

/**
 * Changes an account's password and/or host (Trove's update_attributes). A new host renames
 * the account, and its grants go with it; an account already at the new host is a CONFLICT,
 * checked before anything changes.
 */
export async function updateUser(
  connection: Connection,
  change: { name: string; host: string; newHost?: string; newPassword?: string },
): Promise<DatabaseUserInfo> {
  const name = userNameSchema.parse(change.name);
  const host = userHostSchema.parse(change.host);
  const newHost = change.newHost === undefined ? host : userHostSchema.parse(change.newHost);
  await requireUser(connection, name, host);
  if (newHost !== host && (await userExists(connection, name, newHost))) {
    refuse({
      code: 'CONFLICT',
      field: 'newHost',
      message: `The user ${accountName(name, newHost)} already exists.`,
    });
  }
  if (change.newPassword !== undefined) {
    if (change.newPassword.length === 0)
      throw new Error(`user ${name} would get an empty password`);
    await querySecret(connection, 'ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [
      name,
      host,
      nativePasswordHash(change.newPassword),
    ]);
  }
  if (newHost !== host) {
    try {
      await connection.query('RENAME USER ?@? TO ?@?', [name, host, name, newHost]);
    } catch (error) {
      if (errnoOf(error) === ER_CANNOT_USER) {
        refuse({
          code: 'CONFLICT',
          field: 'newHost',
          message: `The user ${accountName(name, newHost)} already exists.`,
        });
      }
      throw error;
    }
  }
  const databases =
    (await readAccess(connection, { name, host: newHost })).get(accountName(name, newHost)) ?? [];
  return { name, host: newHost, databases };
}

export async function deleteUser(
  connection: Connection,
  user: { name: string; host: string },
): Promise<void> {
  const name = userNameSchema.parse(user.name);
  const host = userHostSchema.parse(user.host);
  try {
    await connection.query('DROP USER ?@?', [name, host]);
  } catch (error) {
    if (errnoOf(error) === ER_CANNOT_USER) {
      refuse({
        code: 'NOT_FOUND',
        field: 'name',
        message: `There is no user ${accountName(name, host)}.`,
      });
    }
    throw error;
  }
}
