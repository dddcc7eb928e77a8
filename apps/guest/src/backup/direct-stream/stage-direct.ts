import { rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  replicaStreamIdentity,
  type BackupManifest,
  type ReplicaStream,
  type RestoreBackup,
} from '@coffer/contracts';
import { type Logger } from 'pino';

import { TenantFacingError } from '../../errors';
import { parseManifest, sha256Hex, type ExpectedDatastore } from '../manifest';
import { type RestoreStrategy } from '../strategy';
import { listenForChannel } from './socket-channel';
import { connectStream, receiveStream, type OpenedChannel } from './stream-client';
import { openStreamKey } from './stream-key';

/** How long the source may take to connect to this replica's socket channel once told its name. */
const CHANNEL_OPEN_MS = 30_000;

/**
 * A replica's snapshot received straight from its source's guest (issue 18), the replica's
 * side: connect (TLS-PSK) within the window, then the restore strategy unpacks the stream as
 * it arrives, exactly as it unpacks a followed snapshot's chunks. Null when the source could
 * not be reached: the caller follows the snapshot in the object store instead. A stream
 * broken midway throws (what it staged is removed with the restore's scratch dir).
 */
export async function stageDirect(
  ctx: {
    guestSecret: string;
    datastore: ExpectedDatastore;
    logger: Logger;
    signal?: AbortSignal;
  },
  direct: ReplicaStream,
  backup: RestoreBackup,
  strategy: RestoreStrategy,
  workDir: string,
): Promise<{ manifest: BackupManifest; manifestSha256: string; path: string } | null> {
  const key = openStreamKey(ctx.guestSecret, backup.backupId, direct.key);
  const startedAt = Date.now();
  const connected = await connectStream(
    {
      host: direct.host,
      port: direct.port,
      key,
      identity: replicaStreamIdentity(backup.backupId),
      connectWindowMs: direct.connectWindowMs,
    },
    ctx.signal,
  );
  if (!connected.socket) {
    ctx.logger.warn(
      { backupId: backup.backupId, reason: connected.reason, ms: Date.now() - startedAt },
      "the source's direct stream could not be reached: following the snapshot in the object store",
    );
    return null;
  }
  ctx.logger.info({ backupId: backup.backupId }, "receiving the snapshot from the source's guest");
  let received: { manifest: Buffer; bytes: number; channel: boolean } | null = null;
  const socket = connected.socket;
  try {
    // The source sends the tool's stream as it is (no compression: run-direct-backup.ts):
    // over a socket channel that the unpacker reads itself when it offers one (this host),
    // else in frames through this guest.
    const path = await strategy.stage(
      backup,
      workDir,
      async (sink, unpacker) => {
        const openChannel = unpacker
          ? async (): Promise<OpenedChannel> => {
              const listener = await listenForChannel({
                key,
                timeoutMs: CHANNEL_OPEN_MS,
                onRefused: (reason) => ctx.logger.warn({ backupId: backup.backupId }, reason),
              });
              const done = listener.connection.then((input) => unpacker.adopt(input));
              done.catch(() => undefined);
              return { name: listener.name, done, stop: () => listener.stop() };
            }
          : undefined;
        received = await receiveStream(socket, sink, ctx.signal, openChannel);
      },
      { isCompressed: false },
    );
    const { manifest: bytes } = received!;
    ctx.logger.info(
      { backupId: backup.backupId, channel: received!.channel, ms: Date.now() - startedAt },
      "received the snapshot from the source's guest",
    );
    return {
      manifest: parseManifest(bytes, backup, ctx.datastore),
      manifestSha256: sha256Hex(bytes),
      path,
    };
  } catch (error) {
    rmSync(join(workDir, backup.backupId), { recursive: true, force: true });
    if (error instanceof TenantFacingError) throw error;
    throw new TenantFacingError(
      `Receiving snapshot ${backup.backupId} from the source failed: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
}
