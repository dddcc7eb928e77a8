import {
  databaseNameSchema,
  initialDatabaseSchema,
  userHostSchema,
  userNameSchema,
  type InitialDatabase,
} from '@coffer/contracts';
import { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';

import { type AdminCredentials } from './admin-connection';
import { quoteGrantDatabase, quoteIdentifier } from './sql-quote';

/**
 * SQL administration of the server (Trove's MySqlAdmin): the guest's account, securing the
 * fresh install, databases, users and grants. Identifiers are re-checked with the contract
 * schemas and quoted; account names, hosts and passwords are always parameters.
 * Later methods (list/delete databases and users, root enable, replication users) go here.
 */

/** Creates (or repairs) the guest's own account, @localhost only, with every privilege. */
export async function ensureAdminAccount(
  connection: Connection,
  { user, password }: AdminCredentials,
): Promise<void> {
  await connection.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [
    user,
    'localhost',
    password,
  ]);
  await connection.query('ALTER USER ?@? IDENTIFIED BY ?', [user, 'localhost', password]);
  await connection.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [
    user,
    'localhost',
  ]);
}

/**
 * Trove's secure step: no anonymous accounts, no root account but root@localhost, and
 * that one by unix_socket only (no password can ever log in as root; root stays disabled
 * until a tenant asks for it).
 */
export async function secureAccounts(connection: Connection): Promise<string[]> {
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

export async function createDatabase(
  connection: Connection,
  database: InitialDatabase,
): Promise<void> {
  const { name, characterSet, collation } = initialDatabaseSchema.parse(database);
  let sql = `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(name)}`;
  if (characterSet) sql += ` CHARACTER SET ${quoteIdentifier(characterSet)}`;
  if (collation) sql += ` COLLATE ${quoteIdentifier(collation)}`;
  await connection.query(sql);
}

export interface UserToCreate {
  name: string;
  host: string;
  password: string;
  databases: string[];
}

/** Creates the user (or sets its password when it exists) and grants it everything on each database. */
export async function createUser(connection: Connection, user: UserToCreate): Promise<void> {
  const name = userNameSchema.parse(user.name);
  const host = userHostSchema.parse(user.host);
  const databases = user.databases.map((database) => databaseNameSchema.parse(database));
  if (user.password.length === 0) throw new Error(`user ${name} has an empty password`);
  await connection.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [
    name,
    host,
    user.password,
  ]);
  await connection.query('ALTER USER ?@? IDENTIFIED BY ?', [name, host, user.password]);
  for (const database of databases) {
    await connection.query(`GRANT ALL PRIVILEGES ON ${quoteGrantDatabase(database)}.* TO ?@?`, [
      name,
      host,
    ]);
  }
}

export async function readServerVersion(connection: Connection): Promise<string> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS version');
  return String(rows[0]?.version ?? 'unknown');
}
