import { type Connection } from 'mysql2/promise';

/**
 * Runs `run` with this session's statements kept out of the binary log: what belongs to this
 * server alone (its guest's account, securing its fresh install) must never replicate, or a
 * replica's guest would find its account changed to its source's.
 */
export async function withoutBinlog<T>(connection: Connection, run: () => Promise<T>): Promise<T> {
  await connection.query('SET SESSION sql_log_bin = 0');
  try {
    return await run();
  } finally {
    await connection.query('SET SESSION sql_log_bin = 1').catch(() => undefined);
  }
}
