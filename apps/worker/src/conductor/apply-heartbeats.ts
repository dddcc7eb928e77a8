import {
  deriveReplicationState,
  describeReplicationError,
  type ConductorMessage,
} from '@coffer/contracts';
import { Prisma, type PrismaClient } from '@coffer/db';

export type HeartbeatMessage = Extract<ConductorMessage, { kind: 'heartbeat' }>;

/**
 * Applies, in ONE statement (and one read after it when some were not written), those of
 * `messages` (heartbeats, at most one per instance: the conductor passes the first unapplied
 * entry of each instance) that change nothing users see: the common case, a guest saying
 * again what its row already says, moving only its order, its last-seen time, its volume's
 * bytes and its replication report. The conditions are applyConductorMessage's first
 * statement (apply-message.ts), row by row: the instance is not deleted, the message is newer
 * than the newest applied (epoch, then seq), and its status, guest version, replication
 * state, lag and error and its volume's fault are those of the row.
 *
 * Returns, in the order of `messages`, for each heartbeat: `{ projectId }` when it was written;
 * 'stale' when its instance has applied a message as new or newer (the order only moves
 * forward, so it can never be written: the caller acks it without a statement of its own),
 * whether it had when the statement began or another conductor wrote it while the statement
 * waited for the row (several conductors sharing the stream overtake each other's heartbeats
 * all the time); null otherwise (a visible change, a deleted instance, or a second heartbeat
 * of the same instance): the caller applies those one by one, as before. A heartbeat written
 * here changes no column the event timeline records (its trigger does not fire) and publishes
 * nothing.
 */
export type UnchangedOutcome = { projectId: string } | 'stale' | null;

export async function applyUnchangedHeartbeats(
  prisma: Pick<PrismaClient, '$queryRaw'>,
  messages: readonly HeartbeatMessage[],
  now: Date = new Date(),
): Promise<UnchangedOutcome[]> {
  const indexOf = new Map<string, number>();
  messages.forEach((message, index) => {
    const id = message.instanceId.toLowerCase();
    if (!indexOf.has(id)) indexOf.set(id, index);
  });
  // In the order of their ids, so that conductors writing overlapping rows at once lock them
  // in the same order (no deadlock between two such statements).
  const rows = [...indexOf.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, index]) => valuesOf(messages[index]!));
  const outcomes: UnchangedOutcome[] = messages.map(() => null);
  if (rows.length === 0) return outcomes;

  const at = timestamp(now);
  // `stale` reads the rows as they were when the statement began (a data-modifying WITH's
  // outer query does not see its writes): a message not newer than what was applied then can
  // never be written later either, whatever the UPDATE found after waiting for a lock.
  const results = await prisma.$queryRaw<
    { id: string; projectId: string | null; isStale: boolean }[]
  >(Prisma.sql`
    WITH v(
      id, epoch, seq, sent_at, service_status, guest_version,
      has_replication, replication_state, replication_lag, replication_error, replication_status,
      has_volume, volume_used, volume_total, volume_fault) AS (VALUES ${Prisma.join(rows)}),
    written AS (UPDATE instances AS i SET
      "lastEpoch" = v.epoch,
      "lastSeq" = v.seq,
      "lastSentAt" = v.sent_at,
      "lastHeartbeatAt" = ${at},
      "updatedAt" = ${at},
      "replicationStatus" = CASE WHEN v.has_replication THEN v.replication_status ELSE i."replicationStatus" END,
      "volumeUsedBytes" = CASE WHEN v.has_volume THEN v.volume_used ELSE i."volumeUsedBytes" END,
      "volumeTotalBytes" = CASE WHEN v.has_volume THEN v.volume_total ELSE i."volumeTotalBytes" END
    FROM v
    WHERE i.id = v.id
      AND i."deletedAt" IS NULL
      AND (i."lastEpoch" IS NULL OR i."lastEpoch" < v.epoch
        OR (i."lastEpoch" = v.epoch AND (i."lastSeq" IS NULL OR i."lastSeq" < v.seq)))
      AND i."serviceStatus" = v.service_status
      AND i."guestVersion" = v.guest_version
      AND (NOT v.has_replication OR (
        i."replicationState" IS NOT DISTINCT FROM v.replication_state
        AND i."replicationLagSeconds" IS NOT DISTINCT FROM v.replication_lag
        AND i."replicationError" IS NOT DISTINCT FROM v.replication_error))
      AND (NOT v.has_volume OR CASE
        WHEN v.volume_fault IS NULL THEN i."faultCode" IS DISTINCT FROM 'VOLUME_FULL'
        ELSE i."faultMessage" = v.volume_fault AND i."faultCode" = 'VOLUME_FULL' END)
    RETURNING i.id, i."projectId")
    SELECT v.id::text AS id, w."projectId"::text AS "projectId",
      (w.id IS NULL AND (b."lastEpoch" > v.epoch
        OR (b."lastEpoch" = v.epoch AND b."lastSeq" >= v.seq))) IS TRUE AS "isStale"
    FROM v
    LEFT JOIN written AS w ON w.id = v.id
    LEFT JOIN instances AS b ON b.id = v.id`);
  const unsettled: number[] = [];
  for (const row of results) {
    const index = indexOf.get(row.id);
    if (index === undefined) continue;
    if (row.projectId !== null) outcomes[index] = { projectId: row.projectId };
    else if (row.isStale) outcomes[index] = 'stale';
    else unsettled.push(index);
  }
  // Not written, yet newer than the row when the statement began: a visible change, or a row
  // another conductor wrote while this statement waited for its lock (several conductors write
  // the same guests' rows all the time). One read tells the second kind, which is stale now.
  if (unsettled.length > 0) {
    const orders = await prisma.$queryRaw<
      { id: string; lastEpoch: bigint | null; lastSeq: bigint | null }[]
    >(Prisma.sql`
      SELECT id::text AS id, "lastEpoch", "lastSeq" FROM instances
      WHERE id IN (${Prisma.join(unsettled.map((index) => Prisma.sql`${messages[index]!.instanceId}::uuid`))})`);
    for (const row of orders) {
      const index = indexOf.get(row.id);
      if (index !== undefined && isOvertaken(messages[index]!, row)) outcomes[index] = 'stale';
    }
  }
  return outcomes;
}

/** The row has applied a message as new as `message` or newer (its order only moves forward). */
function isOvertaken(
  message: HeartbeatMessage,
  row: { lastEpoch: bigint | null; lastSeq: bigint | null },
): boolean {
  if (row.lastEpoch === null) return false;
  const epoch = BigInt(message.epoch);
  return (
    row.lastEpoch > epoch ||
    (row.lastEpoch === epoch && row.lastSeq !== null && row.lastSeq >= BigInt(message.seq))
  );
}

/** One row of the VALUES list: every value typed, so that any row may come first. */
function valuesOf(message: HeartbeatMessage): Prisma.Sql {
  const { serviceStatus, guestVersion, replication, volume } = message.payload;
  const replica = replication ? replication.replica : null;
  return Prisma.sql`(
    ${message.instanceId}::uuid, ${String(message.epoch)}::bigint, ${String(message.seq)}::bigint,
    ${timestamp(new Date(message.sentAt))}, ${serviceStatus}::"ServiceStatus", ${guestVersion}::text,
    ${replication !== undefined}::boolean,
    ${deriveReplicationState(replica)}::"ReplicationState",
    ${replica?.secondsBehindSource ?? null}::int,
    ${describeReplicationError(replica)}::text,
    ${replication ? JSON.stringify(replication) : null}::jsonb,
    ${volume !== undefined}::boolean,
    ${volume ? String(volume.usedBytes) : null}::bigint,
    ${volume ? String(volume.totalBytes) : null}::bigint,
    ${volume?.fault ?? null}::text)`;
}

/** A TIMESTAMP(3) column's value as Prisma writes it (UTC), whatever the session's time zone. */
function timestamp(date: Date): Prisma.Sql {
  return Prisma.sql`(${date.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
}
