import {
  BACKUP_MANIFEST_NAME,
  type BackupManifest,
  type BackupReport,
  type CreateBackupParams,
} from '@coffer/contracts';
import { createObjectStore, type ObjectStore } from '@coffer/objectstore';
import { type Logger } from 'pino';

import { TenantFacingError } from '../errors';
import { openBackupAccess } from './access';
import { relaxHeapForBackup } from './backup-heap';
import { ToolFailedError, type Tool } from './child-processes';
import { ChunkWriter } from './chunk-writer';
import { buildManifest, manifestBytes, sha256Hex } from './manifest';
import { BackupProgress } from './progress';
import { clearBackupRunning, isBackupAbandoned, markBackupRunning } from './running-marker';
import { type BackupStrategy, type PreparedBackup } from './strategy';

/**
 * Makes one backup with a datastore's strategy and stores it:
 *
 *   strategy's tool ──pipe──▶ zstd -T0 ──socket──▶ guest: one reused 1 MiB read buffer →
 *   fixed-size chunks, sealed in place (AES-256-GCM, fresh IV; SHA-256 of the ciphertext)
 *   → object store, at most N uploads in flight
 *
 * The manifest is written last: a backup without one is incomplete. Progress goes to the
 * conductor about once a second; the end (COMPLETED with what the manifest says, or FAILED
 * with a reason) always. On failure every object already stored is removed.
 */

export interface BackupJob {
  projectId: string;
  instanceId: string;
  /** The volume: the marker of the backup under way lives there. */
  volumeDir: string;
  guestSecret: string;
  /** What the manifest says of the datastore (its server version as the server reports it). */
  datastore: BackupManifest['datastore'];
  strategy: BackupStrategy;
  logger: Logger;
  /** Sends a backup report to the conductor. */
  report: (report: BackupReport) => Promise<void>;
}

export interface BackupRun {
  /** Stops the tools (the guest is stopping): the backup fails and cleans up. */
  interrupt(): void;
  done: Promise<{ manifestSha256: string }>;
}

function describe(error: unknown): { message: string; details?: string } {
  if (error instanceof TenantFacingError) return { message: error.message, details: error.details };
  if (error instanceof ToolFailedError)
    return { message: `The backup failed: ${error.message}`, details: error.details };
  return {
    message: `The backup failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

export function startBackup(job: BackupJob, params: CreateBackupParams): BackupRun {
  const running = new Set<Tool>();
  let isInterrupted = false;
  const done = runBackup(job, params, running, () => isInterrupted);
  return {
    interrupt: () => {
      isInterrupted = true;
      for (const tool of running) tool.stop();
    },
    done,
  };
}

async function runBackup(
  job: BackupJob,
  params: CreateBackupParams,
  running: Set<Tool>,
  isInterrupted: () => boolean,
): Promise<{ manifestSha256: string }> {
  const { backupId, location } = params;
  const volume = { volumeDir: job.volumeDir };
  const log = job.logger.child({ backupId, type: params.type });
  if (isBackupAbandoned(volume, backupId)) {
    // A job handed back to a restarted guest: this backup was already reported FAILED.
    throw new TenantFacingError(
      `Backup ${backupId} was interrupted by a guest restart and is not made again.`,
    );
  }
  const progress = new BackupProgress(job.report, job.logger, backupId);
  const startedAt = new Date();
  let store: ObjectStore | null = null;
  let writer: ChunkWriter | null = null;
  let prepared: PreparedBackup | null = null;
  markBackupRunning(volume, backupId);
  const restoreHeap = relaxHeapForBackup();
  try {
    const access = openBackupAccess(job.guestSecret, backupId, params);
    store = createObjectStore(access.store);
    prepared = await job.strategy.prepare(backupId);
    progress.update(0, { force: true });
    writer = new ChunkWriter({
      store,
      location,
      key: access.key,
      backupId,
      chunkBytes: params.chunkBytes,
      concurrency: params.uploadConcurrency,
      onStored: (storedBytes) => (progress.storedBytes = storedBytes),
      isFollowed: params.isFollowed,
    });
    log.info(
      { store: store.description, location, chunkBytes: params.chunkBytes },
      'backup started',
    );
    const chunkWriter = writer;
    const outcome = await prepared.stream({
      params,
      write: (data) => chunkWriter.write(data),
      append: (data) => chunkWriter.append(data),
      progress,
      running,
    });
    if (isInterrupted())
      throw new TenantFacingError('The backup was interrupted: the guest is stopping.');
    const chunks = await writer.finish();
    const finishedAt = new Date();
    const manifest = buildManifest({
      params,
      ids: { projectId: job.projectId, instanceId: job.instanceId },
      strategy: job.strategy.name,
      datastore: job.datastore,
      chunks,
      storedBytes: writer.storedBytes,
      outcome,
      startedAt,
      finishedAt,
    });
    const bytes = manifestBytes(manifest);
    // Written last: a backup without its manifest is not a backup.
    await store.put(`${location}${BACKUP_MANIFEST_NAME}`, bytes);
    const manifestSha256 = sha256Hex(bytes);
    await progress.finish({
      backupId,
      status: 'COMPLETED',
      progress: 100,
      storedBytes: writer.storedBytes,
      rawBytes: outcome.rawBytes,
      result: {
        manifestSha256,
        chunkCount: chunks.length,
        details: outcome.details,
        incrementalBase: outcome.incrementalBase,
        serverVersion: job.datastore.serverVersion,
        startedAt: manifest.startedAt,
        finishedAt: manifest.finishedAt,
      },
    });
    log.info(
      {
        ms: finishedAt.getTime() - startedAt.getTime(),
        chunks: chunks.length,
        storedBytes: writer.storedBytes,
        rawBytes: outcome.rawBytes,
      },
      'backup completed',
    );
    return { manifestSha256 };
  } catch (error) {
    const { message, details } = describe(
      isInterrupted()
        ? new TenantFacingError('The backup was interrupted: the guest is stopping.')
        : error,
    );
    log.error({ err: error, fault: message }, 'backup failed');
    for (const tool of running) tool.stop();
    await writer?.settle();
    if (store) {
      const removed = await store.deletePrefix(location).catch((cleanupError: unknown) => {
        log.warn(
          { err: cleanupError },
          'could not remove the failed backup objects (the control plane will)',
        );
        return null;
      });
      if (removed !== null) log.info({ removed }, 'removed the objects of the failed backup');
    }
    await progress.fail(message);
    throw new TenantFacingError(message, details, { cause: error });
  } finally {
    restoreHeap();
    prepared?.remove();
    clearBackupRunning(volume);
    await store?.close();
  }
}
