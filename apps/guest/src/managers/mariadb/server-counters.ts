import { type Connection, type RowDataPacket } from 'mysql2/promise';

/**
 * What the metrics sampler reads of a running server (issue 16): the counters and gauges of
 * SHOW GLOBAL STATUS it turns into figures, max_connections, and the binary logs' total size
 * when the binary log is on. Counters are cumulative since the server started: the sampler
 * makes rates of them (conductor/metrics-sampler.ts).
 */
export const STATUS_COUNTERS = [
  'Threads_connected',
  'Max_used_connections',
  'Aborted_connects',
  'Questions',
  'Slow_queries',
  'Innodb_buffer_pool_reads',
  'Innodb_buffer_pool_read_requests',
  'Innodb_buffer_pool_pages_dirty',
  // MariaDB has no Innodb_rows_* (MySQL's): rows read by any engine, and rows written through
  // the handler API (inserted, updated, deleted; temporary tables are Handler_tmp_*, not counted).
  'Rows_read',
  'Handler_write',
  'Handler_update',
  'Handler_delete',
] as const;
export type StatusCounter = (typeof STATUS_COUNTERS)[number];

export interface ServerCounters {
  status: Partial<Record<StatusCounter, number>>;
  maxConnections: number | null;
  /** Null when the binary log is off. */
  binlogBytes: number | null;
}

export async function readServerCounters(connection: Connection): Promise<ServerCounters> {
  const [rows] = await connection.query<RowDataPacket[]>(
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_COUNTERS.map(() => '?').join(', ')})`,
    [...STATUS_COUNTERS],
  );
  const status: Partial<Record<StatusCounter, number>> = {};
  for (const row of rows) {
    const value = Number(row.Value);
    if (Number.isFinite(value)) status[String(row.Variable_name) as StatusCounter] = value;
  }
  const [variables] = await connection.query<RowDataPacket[]>(
    'SELECT @@GLOBAL.max_connections AS maxConnections, @@GLOBAL.log_bin AS logBin',
  );
  const maxConnections = Number(variables[0]?.maxConnections);
  let binlogBytes: number | null = null;
  if (Number(variables[0]?.logBin) === 1) {
    const [logs] = await connection.query<RowDataPacket[]>('SHOW BINARY LOGS');
    binlogBytes = logs.reduce((sum, log) => sum + Number(log.File_size ?? 0), 0);
  }
  return {
    status,
    maxConnections: Number.isFinite(maxConnections) ? maxConnections : null,
    binlogBytes,
  };
}
