import { type Connection, type RowDataPacket } from 'mysql2/promise';

export async function readServerVersion(connection: Connection): Promise<string> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT VERSION() AS version');
  return String(rows[0]?.version ?? 'unknown');
}
