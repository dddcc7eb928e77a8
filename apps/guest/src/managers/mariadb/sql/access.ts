import { databaseNameSchema, userHostSchema, userNameSchema } from '@coffer/contracts';
import { type Connection } from 'mysql2/promise';

import { quoteGrantDatabase } from '../sql-quote';
import { requireDatabases } from './databases';
import { grantAll, readAccess } from './grants';
import { accountName, refuse } from './refusals';
import { requireUser } from './users';

/** The databases an account has access to (Trove's list_access). */
export async function listAccess(
  connection: Connection,
  user: { name: string; host: string },
): Promise<string[]> {
  const name = userNameSchema.parse(user.name);
  const host = userHostSchema.parse(user.host);
  await requireUser(connection, name, host);
  return (await readAccess(connection, { name, host })).get(accountName(name, host)) ?? [];
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
      message: `${accountName(name, host)} has no access to ${database}.`,
    });
  }
  await connection.query(`REVOKE ALL PRIVILEGES ON ${quoteGrantDatabase(database)}.* FROM ?@?`, [
    name,
    host,
  ]);
  return listAccess(connection, { name, host });
}
