/**
 * What a database account can do, as tests check it over TCP: which databases it sees and
 * whether it can connect at all. `connect` opens a connection as the account (mysql2's, or
 * any client with these two calls).
 */
export interface SqlConnection {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** The databases the account sees (`SHOW DATABASES`), sorted. */
export async function databasesSeen(connect: () => Promise<SqlConnection>): Promise<string[]> {
  const connection = await connect();
  try {
    const [rows] = (await connection.query('SHOW DATABASES')) as [{ Database: string }[]];
    return rows.map((row) => row.Database).sort();
  } finally {
    await connection.end();
  }
}

/** Null when the account connects, else the error's code (any "access denied" reads ER_ACCESS_DENIED_ERROR). */
export async function connectErrorCode(
  connect: () => Promise<SqlConnection>,
): Promise<string | null> {
  try {
    const connection = await connect();
    await connection.end();
    return null;
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return code.startsWith('ER_ACCESS_DENIED') ? 'ER_ACCESS_DENIED_ERROR' : code;
  }
}
