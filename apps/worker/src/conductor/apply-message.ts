import {
  deriveReplicationState,
  describeReplicationError,
  type ConductorMessage,
  type HeartbeatPayload,
} from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { clearedFault, faultFields, notFaultCoded } from '@coffer/db/domain/faults';

/**
 * Applies one verified guest message to its instance in ONE conditional update: the row is
 * written only when the message is newer than the newest one applied, by the guest's boot
 * `epoch` then its `seq` (never by its clock: the conductor has already dropped a `sentAt`
 * outside its skew window), so a replayed or overtaken message changes nothing, and two
 * conductors cannot interleave a check and a write. A row whose order is null (never written,
 * or re-based by a restart: restart-instance.ts) takes the next message, whatever its place.
 */

export type ApplyOutcome =
  /** Written; `isVisibleChange` says whether users see a difference (status, version, fault). */
  | { isApplied: true; projectId: string; isVisibleChange: boolean }
  /** Not written: stale, a duplicate, or the instance is gone. */
  | { isApplied: false };

function newerThanApplied(message: InstanceMessage): Prisma.InstanceWhereInput {
  const epoch = BigInt(message.epoch);
  const seq = BigInt(message.seq);
  return {
    OR: [
      { lastEpoch: null },
      { lastEpoch: { lt: epoch } },
      { lastEpoch: epoch, OR: [{ lastSeq: null }, { lastSeq: { lt: seq } }] },
    ],
  };
}

/** The messages about the instance itself (a backup's report goes to the backup: apply-backup-report.ts; an event to the timeline: apply-event.ts). */
export type InstanceMessage = Exclude<ConductorMessage, { kind: 'backup' | 'event' | 'metrics' }>;

export async function applyConductorMessage(
  prisma: PrismaClient,
  message: InstanceMessage,
  now: Date = new Date(),
  {
    isUnchangedTried = false,
    isLikelyChange = false,
  }: {
    /**
     * The heartbeat was just offered to the unchanged case's statement and not taken
     * (apply-heartbeats.ts, the conductor's batch): go straight to the change.
     */
    isUnchangedTried?: boolean;
    /**
     * The heartbeat likely changes what users see (it says something else than its guest said
     * before): the change is tried first, in one statement that writes it only where the row
     * differs, so that a change costs one statement, not two. A wrong hint costs one more.
     */
    isLikelyChange?: boolean;
  } = {},
): Promise<ApplyOutcome> {
  const where: Prisma.InstanceWhereInput = {
    id: message.instanceId,
    deletedAt: null,
    ...newerThanApplied(message),
  };
  const ordering = {
    lastEpoch: BigInt(message.epoch),
    lastSeq: BigInt(message.seq),
    lastSentAt: new Date(message.sentAt),
  };

  if (message.kind === 'fault') {
    const rows = await prisma.instance.updateManyAndReturn({
      where,
      data: {
        ...ordering,
        ...faultFields({ message: message.payload.message, details: message.payload.details }, now),
      },
      select: { projectId: true },
    });
    const [row] = rows;
    return row
      ? { isApplied: true, projectId: row.projectId, isVisibleChange: true }
      : { isApplied: false };
  }

  const { serviceStatus, guestVersion } = message.payload;
  const replication = replicationColumns(message.payload);
  const volume = volumeColumns(message.payload);
  const data = {
    ...ordering,
    serviceStatus,
    guestVersion,
    lastHeartbeatAt: now,
    ...replication.data,
    ...volume.data,
  };
  const unchangedWhere: Prisma.InstanceWhereInput = {
    serviceStatus,
    guestVersion,
    ...replication.unchanged,
    ...volume.unchanged,
  };
  const toVisible = async (row: { projectId: string; faultCode: string | null }) => {
    // A volume no longer full clears its fault (never another one: matched by code, not
    // text); a statement only when the row written has that fault.
    if (volume.clearsFault && row.faultCode === 'VOLUME_FULL') {
      await prisma.instance.updateMany({
        where: { id: message.instanceId, faultCode: 'VOLUME_FULL' },
        data: clearedFault(),
      });
    }
    return { isApplied: true as const, projectId: row.projectId, isVisibleChange: true };
  };
  if (isLikelyChange) {
    // Where the row differs (NOT of the unchanged case: a NULL compared matches neither, and
    // such a row takes the two statements below).
    const [row] = await prisma.instance.updateManyAndReturn({
      where: { AND: [where, { NOT: unchangedWhere }] },
      data: { ...data, ...volume.changed(now) },
      select: { projectId: true, faultCode: true },
    });
    if (row) return toVisible(row);
  }
  // The common case first: a heartbeat that changes nothing users see (one statement). AND,
  // not one object: `where` and the volume's condition each have an OR of their own.
  const unchanged = isUnchangedTried
    ? []
    : await prisma.instance.updateManyAndReturn({
        where: { AND: [where, unchangedWhere] },
        data,
        select: { projectId: true },
      });
  if (unchanged[0])
    return { isApplied: true, projectId: unchanged[0].projectId, isVisibleChange: false };
  // Otherwise the status or the version changes (or the message is stale: then nothing is written).
  const changed = await prisma.instance.updateManyAndReturn({
    where,
    data: { ...data, ...volume.changed(now) },
    select: { projectId: true, faultCode: true },
  });
  return changed[0] ? toVisible(changed[0]) : { isApplied: false };
}

/**
 * What a heartbeat's replication report writes: the state users see, the lag and the error
 * (compared, so that a change of them is a visible change), and the whole report. A beat
 * without a report (an older guest, a server that is down) leaves them as they were.
 */
function replicationColumns(payload: HeartbeatPayload): {
  data: Prisma.InstanceUpdateManyMutationInput;
  unchanged: Prisma.InstanceWhereInput;
} {
  const report = payload.replication;
  if (!report) return { data: {}, unchanged: {} };
  const replicationState = deriveReplicationState(report.replica);
  const replicationLagSeconds = report.replica?.secondsBehindSource ?? null;
  const replicationError = describeReplicationError(report.replica);
  return {
    data: {
      replicationState,
      replicationLagSeconds,
      replicationError,
      replicationStatus: report as Prisma.InputJsonValue,
    },
    unchanged: { replicationState, replicationLagSeconds, replicationError },
  };
}

/**
 * What a heartbeat's volume report writes: the bytes used and in all (not a visible change by
 * themselves), and the full volume's fault, code VOLUME_FULL: set while the guest reports one (a
 * visible change when it is new), cleared by the first beat without one (only a fault of that
 * code: another fault stays, whatever its text).
 */
function volumeColumns(payload: HeartbeatPayload): {
  data: Prisma.InstanceUpdateManyMutationInput;
  unchanged: Prisma.InstanceWhereInput;
  changed: (now: Date) => Prisma.InstanceUpdateManyMutationInput;
  clearsFault: boolean;
} {
  const report = payload.volume;
  if (!report) return { data: {}, unchanged: {}, changed: () => ({}), clearsFault: false };
  const data = {
    volumeUsedBytes: BigInt(report.usedBytes),
    volumeTotalBytes: BigInt(report.totalBytes),
  };
  const { fault } = report;
  if (fault) {
    return {
      data,
      unchanged: { faultMessage: fault, faultCode: 'VOLUME_FULL' },
      changed: (now) => faultFields({ message: fault, code: 'VOLUME_FULL' }, now),
      clearsFault: false,
    };
  }
  return {
    data,
    unchanged: notFaultCoded('VOLUME_FULL'),
    changed: () => ({}),
    clearsFault: true,
  };
}

/**
 * What a restart writes to re-base the order (restart-instance.ts): the guest's next message is
 * taken whatever its epoch and seq, so no message (a forged one with a huge seq, or the guest's
 * own after its boot counter was lost) can hold the instance's status past a restart. Replays of
 * older entries stay harmless: the conductor drops a `sentAt` outside its skew window, and the
 * guest's own newer messages overtake anything older within it.
 */
export const REBASED_GUEST_ORDER = {
  lastEpoch: null,
  lastSeq: null,
} as const satisfies Prisma.InstanceUpdateManyMutationInput;
