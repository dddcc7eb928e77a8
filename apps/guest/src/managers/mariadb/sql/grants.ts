import { type Connection, type RowDataPacket } from 'mysql2/promise';

import { quoteGrantDatabase } from '../sql-quote';
import { accountName } from './refusals';

/** A `Db` value of mysql.db as the database name it covers (grants escape `_`, `%` and `\`). */
function unescapeGrantDatabase(db: string): string {
  return db.replace(/\\(.)/g, '$1');
}

/** Database-level grants by account (`name@host`), as database names. */
export async function readAccess(
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
    const key = accountName(String(row.user), String(row.host));
    const databases = access.get(key) ?? [];
    databases.push(unescapeGrantDatabase(String(row.db)));
    access.set(key, databases);
  }
  for (const databases of access.values()) databases.sort();
  return access;
}

export async function grantAll(
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
