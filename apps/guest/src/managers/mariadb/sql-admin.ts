import { createHash } from 'node:crypto';

import {
  databaseNameSchema,
  databaseSpecSchema,
  isReservedUserName,
  SYSTEM_SCHEMAS,
  userHostSchema,
  userNameSchema,
  type DatabaseInfo,
  type DatabaseSpec,
  type DatabaseUserInfo,
  type GuestFailure,
} from '@coffer/contracts';
import { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';

import { RequestRefusedError } from '../datastore-manager';
import { type AdminCredentials } from './admin-connection';
import { quoteGrantDatabase, quoteIdentifier } from './sql-quote';

/**
 * SQL administration of the server (Trove's MySqlAdmin): the guest's account, securing the
 * fresh install, databases, users, grants and root. Identifiers are re-checked with the
 * contract schemas and quoted; account names, hosts and password hashes are always
 * parameters. Passwords reach the server only as their mysql_native_password hash
 * (`IDENTIFIED BY PASSWORD`): MariaDB writes account statements to the binary log as they
 * were sent, so a clear password would sit in the binlog (and in backups and replicas).
 */

/** The mysql_native_password hash of a password: `*` and the hex of SHA1(SHA1(password)). */
export function nativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/**
 * Runs a statement that carries a password hash: a failure loses the statement text
 * (mysql2 puts it on the error), so nothing of it can reach a log.
 */
export async function querySecret(
  connection: Connection,
  sql: string,
  values: unknown[],
): Promise<void> {
  try {
    await connection.query(sql, values);
  } catch (error) {
    if (error && typeof error === 'object' && 'sql' in error)
      delete (error as { sql?: unknown }).sql;
    throw error;
  }
}

/**
 * Runs `run` with this session's statements kept out of the binary log: what belongs to this
 * server alone (its guest's account, securing its fresh install) must never replicate, or a
 * replica's guest would find its account changed to its source's.
 */
async function withoutBinlog<T>(connection: Connection, run: () => Promise<T>): Promise<T> {
  await connection.query('SET SESSION sql_log_bin = 0');
  try {
    return await run();
  } finally {
    await connection.query('SET SESSION sql_log_bin = 1').catch(() => undefined);
  }
}

/** Creates (or repairs) the guest's own account, @localhost only, with every privilege (never binlogged). */
export async function ensureAdminAccount(
  connection: Connection,
  { user, password }: AdminCredentials,
): Promise<void> {
  const hash = nativePasswordHash(password);
  await withoutBinlog(connection, async () => {
    await querySecret(connection, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [
      user,
      'localhost',
      hash,
    ]);
    await querySecret(connection, 'ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [
      user,
      'localhost',
      hash,
    ]);
    await connection.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [
      user,
      'localhost',
    ]);
  });
}

/**
 * Trove's secure step: no anonymous accounts, no root account but root@localhost, and
 * that one by unix_socket only (no password can ever log in as root; root stays disabled
 * until a tenant asks for it). Never binlogged: it is this server's own install.
 */
export async function secureAccounts(connection: Connection): Promise<string[]> {
  return withoutBinlog(connection, () => secureFreshAccounts(connection));
}

async function secureFreshAccounts(connection: Connection): Promise<string[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT User AS user, Host AS host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost')",
  );
  const dropped: string[] = [];
  for (const row of rows) {
    const user = String(row.user);
    const host = String(row.host);
    await connection.query('DROP USER IF EXISTS ?@?', [user, host]);
    dropped.push(`'${user}'@'${host}'`);
  }
  await connection.query('ALTER USER ?@? IDENTIFIED VIA unix_socket', ['root', 'localhost']);
  // install-db grants PROXY to accounts at this machine's host name, which does not resolve here.
  const [proxies] = await connection.query<ResultSetHeader>(
    "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost'",
  );
  if (proxies.affectedRows > 0) await connection.query('FLUSH PRIVILEGES');
  return dropped;
}

// ---------------------------------------------------------------------------
// Databases, users, access and root (Trove's database and user APIs)
// ---------------------------------------------------------------------------

/** MySQL error numbers the methods below turn into answers a tenant can act on. */
const ER_DB_CREATE_EXISTS = 1007;
const ER_DB_DROP_EXISTS = 1008;
const ER_UNKNOWN_CHARACTER_SET = 1115;
const ER_COLLATION_CHARSET_MISMATCH = 1253;
const ER_UNKNOWN_COLLATION = 1273;
const ER_CANNOT_USER = 1396;

function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

function refuse(failure: GuestFailure): never {
  throw new RequestRefusedError(failure);
}

function account(name: string, host: string): string {
  return `${name}@${host}`;
}

function isHiddenSchema(name: string): boolean {
  const lower = name.toLowerCase();
  return (SYSTEM_SCHEMAS as readonly string[]).includes(lower) || lower.startsWith('#mysql50#');
}

function isHiddenUser(name: string): boolean {
  return name === '' || isReservedUserName(name);
}

/** A `Db` value of mysql.db as the database name it covers (grants escape `_`, `%` and `\`). */
function unescapeGrantDatabase(db: string): string {
  return db.replace(/\\(.)/g, '$1');
}

/** The tenant's databases: everything but the system schemas. */
export async function listDatabases(connection: Connection): Promise<DatabaseInfo[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS characterSet, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME',
  );
  return rows
    .map((row) => ({
      name: String(row.name),
      characterSet: String(row.characterSet),
      collation: String(row.collation),
    }))
    .filter((database) => !isHiddenSchema(database.name));
}

/** A database by its exact name (information_schema compares names without case; the server does not). */
async function findDatabase(connection: Connection, name: string): Promise<DatabaseInfo | null> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT SCHEMA_NAME AS name, DEFAULT_CHARACTER_SET_NAME AS characterSet, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME = ?',
    [name],
  );
  const row = rows[0];
  return row
    ? {
        name: String(row.name),
        characterSet: String(row.characterSet),
        collation: String(row.collation),
      }
    : null;
}

/**
 * Creates a database. At prepare time it is idempotent (a prepare may run twice); asked for
 * later (`mustNotExist`), an existing database is a CONFLICT, and a character set or
 * collation the server does not know is a BAD_REQUEST.
 */
export async function createDatabase(
  connection: Connection,
  database: DatabaseSpec,
  { mustNotExist = false }: { mustNotExist?: boolean } = {},
): Promise<DatabaseInfo> {
  const { name, characterSet, collation } = databaseSpecSchema.parse(database);
  let sql = `CREATE DATABASE ${mustNotExist ? '' : 'IF NOT EXISTS '}${quoteIdentifier(name)}`;
  if (characterSet) sql += ` CHARACTER SET ${quoteIdentifier(characterSet)}`;
  if (collation) sql += ` COLLATE ${quoteIdentifier(collation)}`;
  try {
    await connection.query(sql);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === ER_DB_CREATE_EXISTS) {
      refuse({
        code: 'CONFLICT',
        field: 'name',
        message: `A database named ${name} already exists.`,
      });
    }
    if (errno === ER_UNKNOWN_CHARACTER_SET) {
      refuse({
        code: 'BAD_REQUEST',
        field: 'characterSet',
        message: `The server does not know the character set ${characterSet}.`,
      });
    }
    if (errno === ER_UNKNOWN_COLLATION || errno === ER_COLLATION_CHARSET_MISMATCH) {
      refuse({
        code: 'BAD_REQUEST',
        field: 'collation',
        message: `The server cannot use the collation ${collation} here.`,
      });
    }
    throw error;
  }
  const created = await findDatabase(connection, name);
  if (!created) throw new Error(`database ${name} was created but cannot be found`);
  return created;
}

/** Drops a database, and every grant on it (so a database of the same name made later starts with no access). */
export async function deleteDatabase(connection: Connection, databaseName: string): Promise<void> {
  const name = databaseNameSchema.parse(databaseName);
  try {
    await connection.query(`DROP DATABASE ${quoteIdentifier(name)}`);
  } catch (error) {
    if (errnoOf(error) === ER_DB_DROP_EXISTS) {
      refuse({ code: 'NOT_FOUND', field: 'name', message: `There is no database named ${name}.` });
    }
    throw error;
  }
  const [grants] = await connection.query<RowDataPacket[]>(
    'SELECT User AS user, Host AS host FROM mysql.db WHERE Db IN (?, ?)',
    [name, name.replace(/[\\_%]/g, (char) => `\\${char}`)],
  );
  for (const grant of grants) {
    await connection.query(`REVOKE ALL PRIVILEGES ON ${quoteGrantDatabase(name)}.* FROM ?@?`, [
      String(grant.user),
      String(grant.host),
    ]);
  }
}

/** Database-level grants by account (`name@host`), as database names. */
async function readAccess(
  connection: Connection,
  only?: { name: string; host: string },
): Promise<Map<string, string[]>> {
  const [rows] = only
    ? await connection.query<RowDataPacket[]>(
        'SELECT User AS user, Host AS host, Db AS db FROM mysql.db WHERE User = ? AND Host = ?',
        [only.name, only.host],
      )
    : await connection.query<RowDataPacket[]>(
        'SELECT User AS user, Host AS host, Db AS db FROM mysql.db',
      );
  const access = new Map<string, string[]>();
  for (const row of rows) {
    const key = account(String(row.user), String(row.host));
    const databases = access.get(key) ?? [];
    databases.push(unescapeGrantDatabase(String(row.db)));
    access.set(key, databases);
  }
  for (const databases of access.values()) databases.sort();
  return access;
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
    .map((user) => ({ ...user, databases: access.get(account(user.name, user.host)) ?? [] }));
}

async function userExists(connection: Connection, name: string, host: string): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?',
    [name, host],
  );
  return rows.length > 0;
}

async function requireUser(connection: Connection, name: string, host: string): Promise<void> {
  if (!(await userExists(connection, name, host))) {
    refuse({
      code: 'NOT_FOUND',
      field: 'name',
      message: `There is no user ${account(name, host)}.`,
    });
  }
}

async function requireDatabases(connection: Connection, names: string[]): Promise<void> {
  for (const name of names) {
    if (!(await findDatabase(connection, name))) {
      refuse({
        code: 'BAD_REQUEST',
        field: 'databases',
        message: `There is no database named ${name}.`,
      });
    }
  }
}

async function grantAll(
  connection: Connection,
  name: string,
  host: string,
  databases: string[],
): Promise<void> {
  for (const database of databases) {
    await connection.query(`GRANT ALL PRIVILEGES ON ${quoteGrantDatabase(database)}.* TO ?@?`, [
      name,
      host,
    ]);
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
      databases: (await readAccess(connection, { name, host })).get(account(name, host)) ?? [],
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
        message: `The user ${account(name, host)} already exists.`,
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
    databases: (await readAccess(connection, { name, host })).get(account(name, host)) ?? [],
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
      message: `The user ${account(name, newHost)} already exists.`,
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
          message: `The user ${account(name, newHost)} already exists.`,
        });
      }
      throw error;
    }
  }
  const databases =
    (await readAccess(connection, { name, host: newHost })).get(account(name, newHost)) ?? [];
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
        message: `There is no user ${account(name, host)}.`,
      });
    }
    throw error;
  }
}

/** The databases an account has access to (Trove's list_access). */
export async function listAccess(
  connection: Connection,
  user: { name: string; host: string },
): Promise<string[]> {
  const name = userNameSchema.parse(user.name);
  const host = userHostSchema.parse(user.host);
  await requireUser(connection, name, host);
  return (await readAccess(connection, { name, host })).get(account(name, host)) ?? [];
}

export async function grantAccess(
  connection: Connection,
  grant: { name: string; host: string; databases: string[] },
): Promise<string[]> {
  const name = userNameSchema.parse(grant.name);
  const host = userHostSchema.parse(grant.host);
  const databases = [
    ...new Set(grant.databases.map((database) => databaseNameSchema.parse(database))),
  ];
  await requireUser(connection, name, host);
  await requireDatabases(connection, databases);
  await grantAll(connection, name, host, databases);
  return listAccess(connection, { name, host });
}

export async function revokeAccess(
  connection: Connection,
  revoke: { name: string; host: string; database: string },
): Promise<string[]> {
  const name = userNameSchema.parse(revoke.name);
  const host = userHostSchema.parse(revoke.host);
  const database = databaseNameSchema.parse(revoke.database);
  const before = await listAccess(connection, { name, host });
  if (!before.includes(database)) {
    refuse({
      code: 'NOT_FOUND',
      field: 'database',
      message: `${account(name, host)} has no access to ${database}.`,
    });
  }
  await connection.query(`REVOKE ALL PRIVILEGES ON ${quoteGrantDatabase(database)}.* FROM ?@?`, [
    name,
    host,
  ]);
  return listAccess(connection, { name, host });
}

/** Trove's enable_root: `root`@`%` with every privilege and the given password (created, or its password set). */
export async function enableRoot(connection: Connection, password: string): Promise<void> {
  if (password.length === 0) throw new Error('root would get an empty password');
  const hash = nativePasswordHash(password);
  await querySecret(connection, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [
    'root',
    '%',
    hash,
  ]);
  await querySecret(connection, 'ALTER USER ?@? IDENTIFIED BY PASSWORD ?', ['root', '%', hash]);
  await connection.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', ['root', '%']);
}

/** Drops every remote root account; `root`@`localhost` stays, by unix_socket only. Returns what was dropped. */
export async function disableRoot(connection: Connection): Promise<string[]> {
  const [rows] = await connection.query<RowDataPacket[]>(
    "SELECT Host AS host FROM mysql.user WHERE User = 'root' AND Host <> 'localhost'",
  );
  const dropped: string[] = [];
  for (const row of rows) {
    await connection.query('DROP USER IF EXISTS ?@?', ['root', String(row.host)]);
    dropped.push(account('root', String(row.host)));
  }
  if (await userExists(connection, 'root', 'localhost')) {
    await connection.query('ALTER USER ?@? IDENTIFIED VIA unix_socket', ['root', 'localhost']);
  }
  return dropped;
}

export async function readServerVersion(connection: Connection): Promise<string> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS version');
  return String(rows[0]?.version ?? 'unknown');
}
