import { type Connection } from 'mysql2/promise';

import { type AdminCredentials } from '../admin-connection';
import { withoutBinlog } from './binlog';
import { nativePasswordHash, querySecret } from './password-hash';

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
