import { isReservedUserName, SYSTEM_SCHEMAS } from '@coffer/contracts';
import { type RowDataPacket } from 'mysql2/promise';

import { type BackupContext } from '../backup-context';

/** What a logical backup holds of the server: the tenant's accounts and schemas, never the system's. */

/** The tenant's accounts as SQL (CREATE OR REPLACE USER, then GRANTs): the guest's, root and system accounts left out. */
export async function dumpAccounts(ctx: Pick<BackupContext, 'connectAsAdmin'>): Promise<string> {
  const connection = await ctx.connectAsAdmin();
  try {
    const [users] = await connection.query<RowDataPacket[]>(
      "SELECT User AS user, Host AS host FROM mysql.user WHERE User <> '' ORDER BY User, Host",
    );
    const lines = ['-- Coffer logical backup: the accounts of the instance', ''];
    for (const row of users) {
      const user = String(row.user);
      const host = String(row.host);
      if (isReservedUserName(user)) continue;
      const [created] = await connection.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [
        user,
        host,
      ]);
      const createSql = String(Object.values(created[0] ?? {})[0] ?? '');
      if (!/^CREATE USER /.test(createSql)) continue;
      lines.push(`${createSql.replace(/^CREATE USER /, 'CREATE OR REPLACE USER ')};`);
      const [grants] = await connection.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
      for (const grant of grants) lines.push(`${String(Object.values(grant)[0])};`);
    }
    lines.push('', '');
    return lines.join('\n');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** The tenant's schemas and their size (for progress). */
export async function tenantSchemas(
  ctx: Pick<BackupContext, 'connectAsAdmin'>,
): Promise<{ names: string[]; bytes: number }> {
  const connection = await ctx.connectAsAdmin();
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT s.SCHEMA_NAME AS name, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS bytes
         FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
        GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME`,
    );
    const system = new Set<string>(SYSTEM_SCHEMAS);
    const tenant = rows.filter((row) => !system.has(String(row.name).toLowerCase()));
    return {
      names: tenant.map((row) => String(row.name)),
      bytes: tenant.reduce((sum, row) => sum + Number(row.bytes), 0),
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}
