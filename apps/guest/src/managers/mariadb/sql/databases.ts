import {
  databaseNameSchema,
  databaseSpecSchema,
  SYSTEM_SCHEMAS,
  type DatabaseInfo,
  type DatabaseSpec,
} from '@coffer/contracts';
import { type Connection, type RowDataPacket } from 'mysql2/promise';

import { quoteGrantDatabase, quoteIdentifier } from '../sql-quote';
import {
  ER_COLLATION_CHARSET_MISMATCH,
  ER_DB_CREATE_EXISTS,
  ER_DB_DROP_EXISTS,
  ER_UNKNOWN_CHARACTER_SET,
  ER_UNKNOWN_COLLATION,
  errnoOf,
  refuse,
} from './refusals';

function isHiddenSchema(name: string): boolean {
  const lower = name.toLowerCase();
  return (SYSTEM_SCHEMAS as readonly string[]).includes(lower) || lower.startsWith('#mysql50#');
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
export async function findDatabase(
  connection: Connection,
  name: string,
): Promise<DatabaseInfo | null> {
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

export async function requireDatabases(connection: Connection, names: string[]): Promise<void> {
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
