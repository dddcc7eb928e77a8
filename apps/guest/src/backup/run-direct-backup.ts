import { replicaStreamIdentity, type CreateBackupParams } from '@coffer/contracts';

import { type Socket } from 'node:net';

import { TenantFacingError } from '../errors';
import { ToolFailedError, type Tool } from './child-processes';
import { connectChannel } from './direct-stream/socket-channel';
import { StreamServer } from './direct-stream/stream-server';
import { openStreamKey } from './direct-stream/stream-key';
import { buildManifest, manifestBytes, sha256Hex } from './manifest';
import { BackupProgress } from './progress';
import { startBackup, type BackupJob, type BackupRun } from './run-backup';
import { clearBackupRunning, markBackupRunning } from './running-marker';
import { type PreparedBackup } from './strategy';

/**
 * A replica's snapshot sent straight to its replicas' guests (issue 18), the source's side:
 *
 *   strategy's tool ──pipe──▶ guest ──TLS-PSK──▶ every replica of the snapshot
 *   strategy's tool ──Unix socket──▶ the one replica's unpacker, on this host (socket-channel.ts)
 *
 * With one replica on this host (the common case) the data goes over a socket channel and
 * only the control (who joined, the channel's name, the manifest) over the guests'
 * connection; with several, or one on another host, the guest sends the one stream to them all.
 * The guest listens on the port the control plane gave, reports the snapshot BUILDING (the
 * replicas' builds start then), waits until all its replicas are connected or the window is
 * over, then runs the tool once for all of them. The manifest ends the stream; its SHA-256
 * is reported as a stored backup's would be, so a replica is attached only when it received
 * exactly that snapshot. Nothing goes to the object store: when the port cannot be opened or
 * no replica came, the snapshot is stored there as before (run-backup.ts), and the replicas
 * follow it there.
 */

export interface DirectBackupJob extends BackupJob {
  /** The address the stream listens on (the database server's bind address). */
  streamHost: string;
}

/** How long the one replica may take to open its socket channel and say where (and the source to connect). */
const CHANNEL_ANSWER_MS = 15_000;

function describe(error: unknown): { message: string; details?: string } {
  if (error instanceof TenantFacingError) return { message: error.message, details: error.details };
  if (error instanceof ToolFailedError)
    return { message: `The snapshot failed: ${error.message}`, details: error.details };
  return {
    message: `The snapshot failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

export function startDirectBackup(job: DirectBackupJob, params: CreateBackupParams): BackupRun {
  const running = new Set<Tool>();
  const abort = new AbortController();
  let fallback: BackupRun | null = null;
  const done = (async () => {
    const sent = await sendDirect(job, params, running, abort.signal);
    if (sent !== 'fallback') return sent;
    if (abort.signal.aborted)
      throw new TenantFacingError('The backup was interrupted: the guest is stopping.');
    fallback = startBackup(job, { ...params, direct: undefined });
    return fallback.done;
  })();
  return {
    interrupt: () => {
      abort.abort();
      for (const tool of running) tool.stop();
      fallback?.interrupt();
    },
    done,
  };
}

async function sendDirect(
  job: DirectBackupJob,
  params: CreateBackupParams,
  running: Set<Tool>,
  signal: AbortSignal,
): Promise<{ manifestSha256: string } | 'fallback'> {
  const direct = params.direct!;
  const { backupId } = params;
  const log = job.logger.child({ backupId, direct: true });
  const key = openStreamKey(job.guestSecret, backupId, direct.key);
  let server: StreamServer;
  try {
    server = await StreamServer.listen({
      host: job.streamHost,
      port: direct.port,
      key,
      identity: replicaStreamIdentity(backupId),
      logger: log,
    });
  } catch (error) {
    log.warn(
      { err: error, port: direct.port },
      'cannot listen for the replicas: using the object store',
    );
    return 'fallback';
  }
  const volume = { volumeDir: job.volumeDir };
  const progress = new BackupProgress(job.report, job.logger, backupId);
  let prepared: PreparedBackup | null = null;
  /** The one replica's socket channel, the tool's stdout (the guest's copy closed at the end). */
  let channel: Socket | null = null;
  markBackupRunning(volume, backupId);
  try {
    prepared = await job.strategy.prepare(backupId);
    progress.update(0, { force: true });
    const joined = await server.gather(direct.replicas, direct.connectWindowMs, signal);
    if (joined === 0) {
      log.warn('no replica reached the direct stream: using the object store');
      return 'fallback';
    }
    const name =
      joined === 1 && job.strategy.writesToChannel
        ? await server.offerChannel(CHANNEL_ANSWER_MS, signal)
        : null;
    if (name) channel = await connectChannel({ name, key, timeoutMs: CHANNEL_ANSWER_MS });
    log.info(
      { replicas: joined, expected: direct.replicas, channel: channel !== null },
      'direct stream started',
    );
    const startedAt = new Date();
    const outcome = await prepared.stream({
      params,
      write: (data) => server.write(data),
      channel: channel ?? undefined,
      progress,
      running,
    });
    if (signal.aborted)
      throw new TenantFacingError('The backup was interrupted: the guest is stopping.');
    const finishedAt = new Date();
    const manifest = buildManifest({
      params,
      ids: { projectId: job.projectId, instanceId: job.instanceId },
      strategy: job.strategy.name,
      datastore: job.datastore,
      chunks: [],
      storedBytes: 0,
      outcome,
      startedAt,
      finishedAt,
    });
    const bytes = manifestBytes(manifest);
    await server.finish(bytes);
    const manifestSha256 = sha256Hex(bytes);
    await progress.finish({
      backupId,
      status: 'COMPLETED',
      progress: 100,
      storedBytes: 0,
      rawBytes: outcome.rawBytes,
      result: {
        manifestSha256,
        chunkCount: 0,
        details: outcome.details,
        incrementalBase: null,
        serverVersion: job.datastore.serverVersion,
        startedAt: manifest.startedAt,
        finishedAt: manifest.finishedAt,
      },
    });
    log.info(
      {
        ms: finishedAt.getTime() - startedAt.getTime(),
        rawBytes: outcome.rawBytes,
        replicas: joined,
      },
      'direct stream completed',
    );
    return { manifestSha256 };
  } catch (error) {
    const { message, details } = describe(
      signal.aborted
        ? new TenantFacingError('The backup was interrupted: the guest is stopping.')
        : error,
    );
    log.error({ err: error, fault: message }, 'direct stream failed');
    for (const tool of running) tool.stop();
    await progress.fail(message);
    throw new TenantFacingError(message, details, { cause: error });
  } finally {
    server.close();
    channel?.destroy();
    prepared?.remove();
    clearBackupRunning(volume);
  }
}
