/**
 * How far a replica's build has got, from what the control plane already records (issue 17:
 * "replica creation shows 14 s without progress"): the source's snapshot (a backup, with the
 * guest's progress and bytes), the replica's server (its address), what its guest reports
 * (service status NEW, then BUILDING while it restores and starts MariaDB, then RUNNING) and
 * the taskmanager's last step (attaching it to its source while the task is still BUILDING).
 * The replica's restore follows the snapshot as it is written, so the first steps overlap.
 */

export interface ReplicaBuildInput {
  status: string;
  serviceStatus: string;
  host: string | null;
  sourceName: string;
}

export interface SnapshotInput {
  status: string;
  progress: number;
  /** Bytes read from the source so far. */
  rawSizeBytes: number | null;
}

export type StepState = 'done' | 'current' | 'pending';

export interface ReplicaBuildProgress {
  /** 0–99 while it is built (100 once ACTIVE). */
  percent: number;
  /** What happens now, in a few words. */
  phase: string;
  steps: Array<{
    key: 'snapshot' | 'server' | 'restore' | 'connect';
    label: string;
    state: StepState;
  }>;
}

const MIB = 1024 * 1024;

function formatMib(bytes: number): string {
  return bytes >= 100 * MIB ? `${Math.round(bytes / MIB)} MB` : `${(bytes / MIB).toFixed(1)} MB`;
}

/** "12.5 MB of about 40 MB", from the bytes read and the guest's estimate of the share done. */
function copiedOf(snapshot: SnapshotInput): string | null {
  const read = snapshot.rawSizeBytes ?? 0;
  if (read <= 0) return null;
  if (snapshot.progress <= 0 || snapshot.progress >= 100) return `${formatMib(read)} copied`;
  return `${formatMib(read)} of about ${formatMib((read * 100) / snapshot.progress)} copied`;
}

export function replicaBuildProgress(
  replica: ReplicaBuildInput,
  /**
   * The source's snapshot; null once it is gone (a replica that is built no longer needs it);
   * 'unread' while the console has not read it yet (counted as not yet under way, never as gone:
   * the bar must not jump ahead and back).
   */
  given: SnapshotInput | null | 'unread',
): ReplicaBuildProgress {
  const snapshot: SnapshotInput | null =
    given === 'unread' ? { status: 'NEW', progress: 0, rawSizeBytes: null } : given;
  const isRunning = replica.serviceStatus === 'RUNNING';
  const isSnapshotDone = snapshot ? snapshot.status === 'COMPLETED' : !!replica.host;
  const snapshotShare = isSnapshotDone
    ? 1
    : Math.min(1, Math.max(0, (snapshot?.progress ?? 0) / 100));
  const hasServer = !!replica.host;
  // The server is made once the snapshot is under way (the restore follows it).
  const isSnapshotStarted = !snapshot || snapshot.status !== 'NEW';
  const isRestored = isRunning;
  const state = (done: boolean, current: boolean): StepState =>
    done ? 'done' : current ? 'current' : 'pending';

  const snapshotLabel = isSnapshotDone
    ? `Snapshot of ${replica.sourceName} taken`
    : snapshot?.status === 'BUILDING'
      ? `Snapshotting ${replica.sourceName}: ${snapshot.progress}%${copiedOf(snapshot) ? `, ${copiedOf(snapshot)}` : ''}`
      : `Waiting for the snapshot of ${replica.sourceName}`;
  const steps: ReplicaBuildProgress['steps'] = [
    { key: 'snapshot', label: snapshotLabel, state: state(isSnapshotDone, true) },
    {
      key: 'server',
      label: hasServer ? 'Server created' : 'Creating the server',
      state: state(hasServer, !hasServer && isSnapshotStarted),
    },
    {
      key: 'restore',
      label:
        replica.serviceStatus === 'NEW'
          ? 'Starting the guest agent'
          : 'Restoring the snapshot and starting MariaDB',
      state: state(isRestored, hasServer && !isRestored),
    },
    {
      key: 'connect',
      label: `Connecting replication to ${replica.sourceName}`,
      state: state(replica.status !== 'BUILD', isRunning),
    },
  ];
  const percent = Math.min(
    99,
    Math.round(
      40 * snapshotShare +
        (hasServer ? 10 : 0) +
        (isRestored ? 35 : hasServer && replica.serviceStatus !== 'NEW' ? 10 : 0) +
        (isRunning ? 5 : 0),
    ),
  );
  // The step to show: the first under way after the snapshot (which runs beside them, its share
  // said too), else the snapshot's.
  const later = steps.slice(1).find((step) => step.state === 'current');
  const phase = !later
    ? snapshotLabel
    : snapshot?.status === 'BUILDING'
      ? `${later.label} (snapshot ${snapshot.progress}%)`
      : later.label;
  return { percent, phase, steps };
}
