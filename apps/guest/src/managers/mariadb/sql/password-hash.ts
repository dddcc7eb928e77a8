import { createHash } from 'node:crypto';

import { type Connection } from 'mysql2/promise';

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
