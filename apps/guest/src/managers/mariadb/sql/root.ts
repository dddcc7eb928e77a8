import { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';

import { withoutBinlog } from './binlog';
import { nativePasswordHash, querySecret } from './password-hash';
import { accountName } from './refusals';
import { userExists } from './users';

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
    dropped.push(accountName('root', String(row.host)));
  }
  if (await userExists(connection, 'root', 'localhost')) {
    await connection.query('ALTER USER ?@? IDENTIFIED VIA unix_socket', ['root', 'localhost']);
  }
  return dropped;
}
