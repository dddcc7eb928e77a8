import {
  gtidPositionSchema,
  replicationStatusSchema,
  replicationUserNameSchema,
  type ReplicaThreads,
  type ReplicationError,
  type ReplicationStart,
  type ReplicationStatus,
} from '@coffer/contracts';
import { type Connection, type RowDataPacket } from 'mysql2/promise';

import { nativePasswordHash, querySecret } from './sql/password-hash';

/**
 * Replication on the server (Trove's MariaDB GTID and binlog replication strategies): what
 * it reports, the replication accounts on a source, attaching a replica, read-only, waiting
 * for a GTID, and stopping replication for good. Account names are re-checked with the
 * contract schema, values are parameters; a statement that carries a password loses its SQL
 * text on error (`querySecret`), so the password can never reach a log. The password itself
 * only reaches the server: as its hash for the account (that statement is binlogged and
 * replicates), and in CHANGE MASTER, which MariaDB keeps in the replica's master.info and
 * never writes to the binary log.
 */

function text(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function errorOf(errno: unknown, message: unknown): ReplicationError | null {
  const number = Number(errno ?? 0);
  const said = text(message);
  return number === 0 && said === '' ? null : { errno: number, message: said.slice(0, 2000) };
}

/** One row of SHOW SLAVE STATUS, in the contract's words. */
export function toReplicaThreads(row: Record<string, unknown>): ReplicaThreads {
  const io = text(row.Slave_IO_Running);
  const usingGtid = text(row.Using_Gtid).toLowerCase();
  const behind = row.Seconds_Behind_Master;
  return {
    sourceHost: text(row.Master_Host),
    sourcePort: Number(row.Master_Port ?? 0),
    ioThread: io === 'Yes' ? 'RUNNING' : io === 'Connecting' ? 'CONNECTING' : 'STOPPED',
    sqlThread: text(row.Slave_SQL_Running) === 'Yes' ? 'RUNNING' : 'STOPPED',
    secondsBehindSource:
      behind === null || behind === undefined || behind === '' ? null : Math.max(0, Number(behind)),
    usingGtid:
      usingGtid === 'slave_pos' ? 'SLAVE_POS' : usingGtid === 'current_pos' ? 'CURRENT_POS' : 'NO',
    gtidIoPosition: gtidPositionSchema.parse(text(row.Gtid_IO_Pos)),
    sourceLogFile: text(row.Master_Log_File),
    sourceLogPosition: Number(row.Read_Master_Log_Pos ?? 0),
    lastIoError: errorOf(row.Last_IO_Errno, row.Last_IO_Error),
    lastSqlError: errorOf(row.Last_SQL_Errno, row.Last_SQL_Error),
  };
}

async function readReplicaThreads(connection: Connection): Promise<ReplicaThreads | null> {
  const [rows] = await connection.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  const row = rows[0];
  // After RESET SLAVE ALL there is no row; a configured but never started slave has one.
  if (!row || text(row.Master_Host) === '') return null;
  return toReplicaThreads(row);
}

/** Where the server stands: read_only, its GTID positions and binlog position, its source's threads. */
export async function readReplicationStatus(connection: Connection): Promise<ReplicationStatus> {
  const [variables] = await connection.query<RowDataPacket[]>(
    'SELECT @@GLOBAL.read_only AS readOnly, @@GLOBAL.gtid_binlog_pos AS binlogPos, @@GLOBAL.gtid_current_pos AS currentPos, @@GLOBAL.gtid_slave_pos AS slavePos',
  );
  const values: Record<string, unknown> = variables[0] ?? {};
  const [master] = await connection.query<RowDataPacket[]>('SHOW MASTER STATUS');
  const binlog = master[0]
    ? { file: text(master[0].File), position: Number(master[0].Position) }
    : null;
  return replicationStatusSchema.parse({
    isReadOnly: Number(values.readOnly) === 1,
    gtidBinlogPosition: text(values.binlogPos),
    gtidCurrentPosition: text(values.currentPos),
    gtidSlavePosition: text(values.slavePos),
    binlog,
    replica: await readReplicaThreads(connection),
  });
}

/**
 * On a source: one replica's account, REPLICATION SLAVE only, from any host (the replica's
 * address is the provider's business; the password is 256 random bits). Creating it again
 * sets the new password: a retried attach never leaves an old one behind.
 */
export async function createReplicationUser(
  connection: Connection,
  name: string,
  password: string,
): Promise<void> {
  const user = replicationUserNameSchema.parse(name);
  if (password.length < 16)
    throw new Error('a replication password must be at least 16 characters');
  const hash = nativePasswordHash(password);
  await querySecret(connection, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', [
    user,
    '%',
    hash,
  ]);
  await querySecret(connection, 'ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [user, '%', hash]);
  await connection.query('GRANT REPLICATION SLAVE ON *.* TO ?@?', [user, '%']);
}

export async function dropReplicationUser(connection: Connection, name: string): Promise<void> {
  await connection.query('DROP USER IF EXISTS ?@?', [replicationUserNameSchema.parse(name), '%']);
}

export async function setReadOnly(connection: Connection, isReadOnly: boolean): Promise<void> {
  // Turning it on waits for the commits under way (the server takes the global read lock,
  // then the commit lock): once this returns, no tenant transaction commits any more. A
  // statement that runs for long holds it up: give up after a minute rather than block
  // every write meanwhile.
  if (isReadOnly) await connection.query('SET SESSION lock_wait_timeout = 60');
  await connection.query(`SET GLOBAL read_only = ${isReadOnly ? 'ON' : 'OFF'}`);
}

export interface AttachSpec {
  source: { host: string; port: number };
  user: string;
  password: string;
  start: ReplicationStart;
  connectRetrySeconds: number;
}

/**
 * Makes the server a read-only replica of `source`. When it already replicates from that
 * host and port, only the account and password are set again (CHANGE MASTER without host,
 * port or position keeps the position) and the threads started: a retry never moves a
 * replica back to where it started.
 */
export async function attachReplica(
  connection: Connection,
  spec: AttachSpec,
): Promise<'attached' | 'updated'> {
  const user = replicationUserNameSchema.parse(spec.user);
  await setReadOnly(connection, true);
  const current = await readReplicaThreads(connection);
  if (
    current &&
    current.sourceHost === spec.source.host &&
    current.sourcePort === spec.source.port
  ) {
    await connection.query('STOP SLAVE');
    await querySecret(connection, 'CHANGE MASTER TO MASTER_USER = ?, MASTER_PASSWORD = ?', [
      user,
      spec.password,
    ]);
    await connection.query('START SLAVE');
    return 'updated';
  }
  if (current) {
    await connection.query('STOP SLAVE');
    // Re-pointing: the relay log of the old source goes; the GTID position stays.
  }
  const { start } = spec;
  let positionSql: string;
  const positionValues: unknown[] = [];
  switch (start.kind) {
    case 'snapshot': {
      const gtid = gtidPositionSchema.parse(start.gtid);
      // A server just filled from a snapshot: its own binary log starts over, holding the
      // snapshot's GTID state, so that once promoted it can serve replicas from exactly there.
      await connection.query('RESET SLAVE ALL');
      await connection.query('RESET MASTER');
      await connection.query('SET GLOBAL gtid_binlog_state = ?', [gtid]);
      await connection.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
      if (start.strategy === 'BINLOG') {
        if (!start.binlog)
          throw new Error('the snapshot has no binary log position to attach from');
        positionSql = 'MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?, MASTER_USE_GTID = no';
        positionValues.push(start.binlog.file, start.binlog.position);
      } else {
        positionSql = 'MASTER_USE_GTID = slave_pos';
      }
      break;
    }
    case 'gtid':
      await connection.query('RESET SLAVE ALL');
      await connection.query('SET GLOBAL gtid_slave_pos = ?', [
        gtidPositionSchema.parse(start.position),
      ]);
      positionSql = 'MASTER_USE_GTID = slave_pos';
      break;
    case 'continue':
      await connection.query('RESET SLAVE ALL');
      positionSql = 'MASTER_USE_GTID = slave_pos';
      break;
  }
  await querySecret(
    connection,
    `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_CONNECT_RETRY = ?, ${positionSql}`,
    [
      spec.source.host,
      spec.source.port,
      user,
      spec.password,
      spec.connectRetrySeconds,
      ...positionValues,
    ],
  );
  await connection.query('START SLAVE');
  return 'attached';
}

const THREADS_POLL_MS = 10;

/**
 * Polls until the I/O thread runs or fails, at most `waitSeconds`; the status as it is then.
 * Every 10 ms: the threads are usually up within a few, and SHOW SLAVE STATUS is cheap (a
 * 100 ms poll added up to 0.1 s to every replica's build).
 */
export async function waitForReplicaThreads(
  connection: Connection,
  waitSeconds: number,
): Promise<ReplicationStatus> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const status = await readReplicationStatus(connection);
    const replica = status.replica;
    const isSettled =
      !replica ||
      (replica.ioThread === 'RUNNING' && replica.sqlThread === 'RUNNING') ||
      (replica.ioThread !== 'RUNNING' && replica.lastIoError !== null) ||
      (replica.sqlThread === 'STOPPED' && replica.lastSqlError !== null);
    if (isSettled || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, THREADS_POLL_MS));
  }
}

/** MASTER_GTID_WAIT: true when the server has applied `position` within the timeout. */
export async function waitForGtid(
  connection: Connection,
  position: string,
  timeoutSeconds: number,
): Promise<boolean> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT MASTER_GTID_WAIT(?, ?) AS outcome',
    [gtidPositionSchema.parse(position), timeoutSeconds],
  );
  return Number(rows[0]?.outcome) === 0;
}

/** Replication stops for good (promote, eject, detach): no source any more, writable. */
export async function stopReplication(connection: Connection): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  if (rows.length > 0) {
    await connection.query('STOP SLAVE');
    await connection.query('RESET SLAVE ALL');
  }
  await setReadOnly(connection, false);
}
