import { z } from 'zod';

import { sealedSecretSchema } from './sealed';

/**
 * Replication (DESIGN.md "Replication", Trove's replication strategies): what crosses a
 * boundary about replicas. A replica is seeded from a snapshot backup of its source and
 * attached with MariaDB GTID (`MASTER_USE_GTID=slave_pos`, the default) or the classic binlog
 * file and position, as its datastore version's strategy says; promote, eject and detach
 * change the topology. The guest reports what its server says about replication in every
 * heartbeat; {@link deriveReplicationState} turns that into the one state users see.
 */

/** Kept in step with the `ReplicationStrategy` enum of packages/db's schema. */
export const REPLICATION_STRATEGIES = ['GTID', 'BINLOG'] as const;
export const replicationStrategySchema = z.enum(REPLICATION_STRATEGIES);
export type ReplicationStrategy = z.infer<typeof replicationStrategySchema>;

/** How many replicas one request may create. */
export const MAX_REPLICAS_PER_REQUEST = 5;

// ---------------------------------------------------------------------------------------
// GTID positions (MariaDB: `domain-server-sequence`, one per domain, comma separated)
// ---------------------------------------------------------------------------------------

const GTID_PATTERN =
  /^(?:[0-9]{1,10}-[0-9]{1,10}-[0-9]{1,20}(?:,[0-9]{1,10}-[0-9]{1,10}-[0-9]{1,20})*)?$/;

/** A GTID position as the server prints it (`@@gtid_slave_pos`…): empty, or `d-s-n[,d-s-n…]`. */
export const gtidPositionSchema = z
  .string()
  .max(8192)
  .transform((text) => text.replace(/\s+/g, ''))
  .pipe(z.string().regex(GTID_PATTERN, 'not a GTID position'));
export type GtidPosition = z.infer<typeof gtidPositionSchema>;

export interface DomainGtid {
  serverId: number;
  sequence: bigint;
}

/** A position by domain (a position holds at most one GTID per domain; the last one wins). */
export function parseGtidPosition(text: string): Map<number, DomainGtid> {
  const byDomain = new Map<number, DomainGtid>();
  const compact = text.replace(/\s+/g, '');
  if (compact === '') return byDomain;
  for (const part of compact.split(',')) {
    const match = /^([0-9]+)-([0-9]+)-([0-9]+)$/.exec(part);
    if (!match) throw new RangeError(`not a GTID: ${part}`);
    byDomain.set(Number(match[1]), { serverId: Number(match[2]), sequence: BigInt(match[3]!) });
  }
  return byDomain;
}

export type GtidComparison = 'equal' | 'ahead' | 'behind' | 'diverged';

/**
 * Where position `a` stands against `b`, compared domain by domain on sequence numbers (a
 * domain one of them lacks counts as sequence 0 there): ahead when it is ahead in some domain
 * and behind in none, diverged when it is ahead in one and behind in another.
 */
export function compareGtidPositions(a: string, b: string): GtidComparison {
  const left = parseGtidPosition(a);
  const right = parseGtidPosition(b);
  let isAhead = false;
  let isBehind = false;
  for (const domain of new Set([...left.keys(), ...right.keys()])) {
    const x = left.get(domain)?.sequence ?? 0n;
    const y = right.get(domain)?.sequence ?? 0n;
    if (x > y) isAhead = true;
    if (x < y) isBehind = true;
  }
  if (isAhead && isBehind) return 'diverged';
  if (isAhead) return 'ahead';
  if (isBehind) return 'behind';
  return 'equal';
}

/** True when `position` has reached `target` in every domain of `target`. */
export function hasReachedGtid(position: string, target: string): boolean {
  const reached = compareGtidPositions(position, target);
  return reached === 'equal' || reached === 'ahead';
}

/**
 * The most advanced of several positions (Trove's eject: the replica with the latest
 * transaction becomes the source): one that is ahead of or equal to every other. When they
 * diverged (none is), the one with the greatest sum of sequence numbers, then the first.
 * Returns the index, or -1 for none.
 */
export function pickMostAdvanced(positions: readonly string[]): number {
  if (positions.length === 0) return -1;
  const dominant = positions.findIndex((candidate, index) =>
    positions.every(
      (other, otherIndex) => otherIndex === index || hasReachedGtid(candidate, other),
    ),
  );
  if (dominant >= 0) return dominant;
  const sums = positions.map((position) =>
    [...parseGtidPosition(position).values()].reduce((sum, gtid) => sum + gtid.sequence, 0n),
  );
  let best = 0;
  sums.forEach((sum, index) => {
    if (sum > sums[best]!) best = index;
  });
  return best;
}

// ---------------------------------------------------------------------------------------
// What a guest reports (heartbeats, and the replication methods' answers)
// ---------------------------------------------------------------------------------------

export const replicationErrorSchema = z.object({
  errno: z.number().int(),
  message: z.string().max(2000),
});
export type ReplicationError = z.infer<typeof replicationErrorSchema>;

/** `SHOW SLAVE STATUS` of a server that replicates, in our words. */
export const replicaThreadsSchema = z.object({
  sourceHost: z.string().max(255),
  sourcePort: z.number().int().min(0).max(65535),
  /** Slave_IO_Running: Yes / Connecting / No. */
  ioThread: z.enum(['RUNNING', 'CONNECTING', 'STOPPED']),
  /** Slave_SQL_Running: Yes / No. */
  sqlThread: z.enum(['RUNNING', 'STOPPED']),
  /** Seconds_Behind_Master (null while a thread is not running). */
  secondsBehindSource: z.number().int().nonnegative().nullable(),
  /** Using_Gtid: No (binlog file and position), Slave_Pos, Current_Pos. */
  usingGtid: z.enum(['NO', 'SLAVE_POS', 'CURRENT_POS']),
  /** Gtid_IO_Pos: what the I/O thread has received. */
  gtidIoPosition: gtidPositionSchema,
  /** Where the source's binary log is read (Master_Log_File / Read_Master_Log_Pos). */
  sourceLogFile: z.string().max(512),
  sourceLogPosition: z.number().int().nonnegative(),
  lastIoError: replicationErrorSchema.nullable(),
  lastSqlError: replicationErrorSchema.nullable(),
});
export type ReplicaThreads = z.infer<typeof replicaThreadsSchema>;

/** A server's replication as its guest sees it: its own positions, and its source if it has one. */
export const replicationStatusSchema = z.object({
  isReadOnly: z.boolean(),
  /** @@gtid_binlog_pos: the last GTID per domain in this server's own binary log. */
  gtidBinlogPosition: gtidPositionSchema,
  /** @@gtid_current_pos: the last GTID applied per domain, by replication or locally. */
  gtidCurrentPosition: gtidPositionSchema,
  /** @@gtid_slave_pos: the last GTID applied per domain by replication. */
  gtidSlavePosition: gtidPositionSchema,
  /** SHOW MASTER STATUS (null without a binary log). */
  binlog: z
    .object({ file: z.string().min(1).max(512), position: z.number().int().nonnegative() })
    .nullable(),
  /** Null when the server replicates from no one. */
  replica: replicaThreadsSchema.nullable(),
});
export type ReplicationStatus = z.infer<typeof replicationStatusSchema>;

// ---------------------------------------------------------------------------------------
// The state users see
// ---------------------------------------------------------------------------------------

/** Kept in step with the `ReplicationState` enum of packages/db's schema. */
export const REPLICATION_STATES = ['REPLICATING', 'CONNECTING', 'STOPPED', 'BROKEN'] as const;
export const replicationStateSchema = z.enum(REPLICATION_STATES);
export type ReplicationState = z.infer<typeof replicationStateSchema>;

/**
 * The state of a replica from what its server says (null: it replicates from no one).
 * BROKEN: a thread stopped, or cannot (re)connect, with the server's error; STOPPED: a thread
 * was stopped without an error; CONNECTING: the I/O thread is connecting, no error yet;
 * REPLICATING: both threads run. A broken replica keeps serving reads, so the instance's
 * display status stays ACTIVE; this state (with its error) is what says it is broken.
 */
export function deriveReplicationState(replica: ReplicaThreads | null): ReplicationState | null {
  if (!replica) return null;
  const { ioThread, sqlThread, lastIoError, lastSqlError } = replica;
  if (sqlThread === 'STOPPED' && lastSqlError) return 'BROKEN';
  if (ioThread !== 'RUNNING' && lastIoError) return 'BROKEN';
  if (ioThread === 'STOPPED' || sqlThread === 'STOPPED') return 'STOPPED';
  if (ioThread === 'CONNECTING') return 'CONNECTING';
  return 'REPLICATING';
}

/** The server's error that makes a replica BROKEN, in one line (null when it has none). */
export function describeReplicationError(replica: ReplicaThreads | null): string | null {
  if (!replica) return null;
  if (replica.sqlThread === 'STOPPED' && replica.lastSqlError) {
    return `SQL thread stopped (error ${replica.lastSqlError.errno}): ${replica.lastSqlError.message}`;
  }
  if (replica.ioThread !== 'RUNNING' && replica.lastIoError) {
    return `I/O thread ${replica.ioThread === 'CONNECTING' ? 'cannot connect to its source' : 'stopped'} (error ${replica.lastIoError.errno}): ${replica.lastIoError.message}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Guest RPC (merged into guestMethods)
// ---------------------------------------------------------------------------------------

export const REPLICATION_USER_PREFIX = 'coffer_repl_';

/** The account a replica replicates with, on its source: one per replica, named after it. */
export function replicationUserName(replicaInstanceId: string): string {
  return `${REPLICATION_USER_PREFIX}${replicaInstanceId.replace(/-/g, '').toLowerCase()}`;
}

export const replicationUserNameSchema = z
  .string()
  .regex(/^coffer_repl_[0-9a-f]{32}$/, 'not a replication account');

/** Associated data of a replication account's password, sealed for one guest. */
export function replicationPasswordAad(userName: string): string {
  return `replication:${userName}`;
}

const hostSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9.:-]+$/, 'not a host name or address');

/**
 * Where a new replication starts:
 * - `snapshot`: this server was just filled from a snapshot of the source: its own binary log
 *   is reset and seeded with the snapshot's GTID state (so it can serve replicas from exactly
 *   that point once promoted), `gtid_slave_pos` is set to it, and it attaches by GTID or, with
 *   the BINLOG strategy, by the snapshot's binlog file and position;
 * - `gtid`: start after this GTID position (an old source following its successor: its own
 *   binlog position);
 * - `continue`: from the server's own `gtid_slave_pos` (a replica following another source).
 */
export const replicationStartSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('snapshot'),
    strategy: replicationStrategySchema,
    /**
     * The SHA-256 of the snapshot's manifest as the control plane recorded it: the guest
     * refuses to attach a server restored from any other (a snapshot followed while it was
     * being written is only trusted once this matches).
     */
    manifestSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    gtid: gtidPositionSchema,
    binlog: z
      .object({
        file: z
          .string()
          .min(1)
          .max(512)
          .regex(/^[A-Za-z0-9._-]+$/),
        position: z.number().int().nonnegative(),
      })
      .nullable(),
  }),
  z.object({ kind: z.literal('gtid'), position: gtidPositionSchema }),
  z.object({ kind: z.literal('continue') }),
]);
export type ReplicationStart = z.infer<typeof replicationStartSchema>;

export const replicationGuestMethods = {
  /** Where the server stands: positions, read-only, its source's threads (answers at once). */
  get_replication_status: {
    params: z.object({}),
    result: replicationStatusSchema,
  },
  /**
   * On a source: creates (or sets the password of) one replica's account, with REPLICATION
   * SLAVE only, at host `%`. The password is sealed (associated data {@link replicationPasswordAad})
   * and reaches the server only as its hash (the statement is binlogged and replicates).
   */
  create_replication_user: {
    params: z.object({ name: replicationUserNameSchema, password: sealedSecretSchema }),
    result: z.object({}),
  },
  /** On a source: drops a replica's account (gone already: fine). */
  drop_replication_user: {
    params: z.object({ name: replicationUserNameSchema }),
    result: z.object({}),
  },
  /**
   * Makes the server a read-only replica of `source` (read_only kept in its config). If it
   * already replicates from that host and port, only the account's password is set again and
   * the threads started (a retry never moves a replica back). Answers once the I/O thread
   * runs, or with the threads as they are after `waitSeconds`.
   */
  attach_replica: {
    params: z.object({
      source: z.object({ host: hostSchema, port: z.number().int().min(1).max(65535) }),
      user: replicationUserNameSchema,
      password: sealedSecretSchema,
      start: replicationStartSchema,
      connectRetrySeconds: z.number().int().min(1).max(3600).default(5),
      waitSeconds: z.number().int().min(0).max(120).default(20),
    }),
    result: replicationStatusSchema,
  },
  /**
   * Sets read_only (kept in the config). Turning it on waits for the transactions committing
   * at that moment (the server's own semantics) and answers the positions after them: what a
   * replica must reach before it takes over.
   */
  set_read_only: {
    params: z.object({ isReadOnly: z.boolean() }),
    result: replicationStatusSchema,
  },
  /** Waits until the server has applied `position` (MASTER_GTID_WAIT), at most `timeoutSeconds`. */
  wait_for_gtid: {
    params: z.object({
      position: gtidPositionSchema,
      timeoutSeconds: z.number().int().min(0).max(3600),
    }),
    result: z.object({ isReached: z.boolean(), status: replicationStatusSchema }),
  },
  /** Stops replicating for good (STOP SLAVE, RESET SLAVE ALL) and becomes writable: promote, eject, detach. */
  stop_replication: {
    params: z.object({}),
    result: replicationStatusSchema,
  },
} as const;
