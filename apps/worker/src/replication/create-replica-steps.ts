import { readMariadbBackupDetails } from '@coffer/contracts/datastores/mariadb';

import { throwIfAborted, waitForInstance } from '../events';
import { loadRow, StopCreate, type CreateRow } from '../taskmanager/create-instance-row';
import { OperationFailure, type OperationContext } from '../taskmanager/operation';
import { attachToSource, loadMember } from './replication-steps';

/**
 * A replica's part of `instance.create` (Trove's `_create_replication_slave`): a replica is a
 * restore of its source's snapshot, so its build waits for that snapshot to be under way
 * (while its server is made) before it asks for the restore and, once its server is RUNNING,
 * waits for it to complete and attaches the replica to its source from the snapshot's
 * position.
 */

/** Why a replica's snapshot stops its build, or null while the snapshot is fine. */
export function snapshotFailure(
  snapshot: { status: string; faultMessage: string | null } | null,
): string | null {
  if (!snapshot || snapshot.status === 'DELETING') {
    return 'The snapshot of the source is gone: the replica cannot be built.';
  }
  if (snapshot.status === 'FAILED') {
    return `The snapshot of the source failed, so the replica cannot be built: ${snapshot.faultMessage ?? 'no reason was given'}`;
  }
  return null;
}

/**
 * Before a replica's `prepare` (its server is made meanwhile): its source's snapshot (a
 * backup the web app queued with it) must be under way (BUILDING: the replica's restore
 * follows it as it is written) or, with `until: 'completed'` (the attach), complete. Backup
 * events carry the source's id.
 */
export async function waitForSnapshot(
  ctx: OperationContext,
  instanceId: string,
  sourceId: string,
  backupId: string,
  until: 'started' | 'completed' = 'started',
): Promise<'building' | 'completed'> {
  type Waited =
    | { kind: 'ready'; status: 'building' | 'completed' }
    | { kind: 'failed'; message: string }
    | { kind: 'stopped'; reason: string };
  const result = await waitForInstance(
    ctx.feed,
    sourceId,
    async () => ({
      backup: await ctx.prisma.backup.findUnique({
        where: { id: backupId },
        select: { status: true, faultMessage: true },
      }),
      replica: await loadRow(ctx, instanceId),
    }),
    ({ backup, replica }): Waited | undefined => {
      if (!replica) return { kind: 'stopped', reason: 'the instance no longer exists' };
      if (replica.taskStatus !== 'BUILDING')
        return { kind: 'stopped', reason: `the instance is ${replica.taskStatus}` };
      const failure = snapshotFailure(backup);
      if (failure) return { kind: 'failed', message: failure };
      if (backup!.status === 'COMPLETED') return { kind: 'ready', status: 'completed' };
      if (backup!.status === 'BUILDING' && until === 'started')
        return { kind: 'ready', status: 'building' };
      return undefined;
    },
    {
      // The job's own timeout (jobs.ts) bounds the wait, as it bounds the backup.
      timeoutMs: Number.MAX_SAFE_INTEGER,
      fallbackMs: Math.max(ctx.settings.tuning.waitFallbackMs, 1000),
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) throw new Error('the snapshot did not complete in time');
  const waited = result.value;
  if (waited.kind === 'stopped') throw new StopCreate(waited.reason);
  if (waited.kind === 'failed') throw new OperationFailure(waited.message);
  if (until === 'started') {
    ctx.logger.info(
      { backupId, snapshot: waited.status },
      waited.status === 'building'
        ? "the source's snapshot is being written: restoring it as it comes"
        : "the source's snapshot is ready: restoring it",
    );
  }
  return waited.status;
}

/**
 * The last step of a replica's build: attach it to its source from the snapshot's position
 * (GTID, or binlog file and position, as its datastore version says; binlog when the
 * snapshot recorded no GTID). Safe to run again: the guest only sets the password anew.
 */
export async function attachReplica(ctx: OperationContext, row: CreateRow): Promise<void> {
  const replica = await loadMember(ctx, row.id);
  const source = row.replicaOfId ? await loadMember(ctx, row.replicaOfId) : null;
  if (!replica) throw new StopCreate('the instance no longer exists');
  if (!source)
    throw new OperationFailure(
      'The source instance is gone: the replica cannot be attached to it.',
    );
  // Restored while it was written: the snapshot must have completed (its manifest recorded),
  // and the guest attaches only a server restored from exactly that manifest.
  if (row.restoredFromBackupId) {
    await waitForSnapshot(ctx, row.id, source.id, row.restoredFromBackupId, 'completed');
  }
  const snapshot = row.restoredFromBackupId
    ? await ctx.prisma.backup.findUnique({
        where: { id: row.restoredFromBackupId },
        select: { details: true, manifestSha256: true },
      })
    : null;
  if (!snapshot)
    throw new OperationFailure(
      'The snapshot of the source is gone: the replica cannot be attached.',
    );
  // Where the snapshot was taken, as MariaDB recorded it (replication is MariaDB's today).
  const recorded = readMariadbBackupDetails(snapshot.details);
  const binlog = recorded?.binlog ?? null;
  const gtid = recorded?.gtid ?? null;
  let strategy = row.datastoreVersion.replicationStrategy;
  if (strategy === 'GTID' && gtid === null && binlog) {
    ctx.logger.warn(
      'the snapshot recorded no GTID position: attaching by binlog file and position',
    );
    strategy = 'BINLOG';
  }
  if (strategy === 'BINLOG' && !binlog) {
    throw new OperationFailure(
      'The snapshot recorded no binary log position: the source keeps no binary log to replicate from.',
    );
  }
  throwIfAborted(ctx.signal);
  await attachToSource(ctx, replica, source, {
    kind: 'snapshot',
    strategy,
    ...(snapshot.manifestSha256 ? { manifestSha256: snapshot.manifestSha256 } : {}),
    gtid: gtid ?? '',
    binlog,
  });
}
