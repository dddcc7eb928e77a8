import {
  BACKUP_MANIFEST_NAME,
  backupChunkInfoName,
  backupChunkName,
  backupChunkSchema,
  type BackupChunk,
  type BackupManifest,
  type RestoreBackup,
} from '@coffer/contracts';
import { type ObjectStore } from '@coffer/objectstore';

import { TenantFacingError } from '../errors';
import { openChunk } from './chunk-crypto';
import { parseManifest, sha256Hex, type ExpectedDatastore } from './manifest';
import { getChunk, getIfStored, throwIfStopped } from './stored-objects';

/** How long a followed backup may go without a new chunk before the restore gives up. */
const FOLLOW_STALL_MS = 10 * 60_000;
const FOLLOW_POLL_MAX_MS = 250;

/**
 * A full backup followed while it is written (a replica's snapshot): each chunk once it and
 * its entry are stored (checked against that entry before its plaintext goes to `sink`),
 * until the manifest is there; the rest by the manifest. Every entry followed must be the
 * manifest's. Returns the manifest and its SHA-256 (for the control plane to match against
 * what it recorded).
 */
export async function followChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  { datastore, signal }: { datastore: ExpectedDatastore; signal?: AbortSignal },
  sink: (plaintext: Buffer) => Promise<void> | undefined,
): Promise<{ manifest: BackupManifest; manifestSha256: string }> {
  const followed: BackupChunk[] = [];
  let lastProgressAt = Date.now();
  let pauseMs = 10;
  for (;;) {
    throwIfStopped(signal);
    const index = followed.length;
    const info = await getIfStored(store, `${backup.location}${backupChunkInfoName(index)}`);
    if (info) {
      const entry = backupChunkSchema.safeParse(JSON.parse(info.toString('utf8')) as unknown);
      if (
        !entry.success ||
        entry.data.index !== index ||
        entry.data.name !== backupChunkName(index)
      ) {
        throw new TenantFacingError(
          `Backup ${backup.backupId}: the entry of chunk ${index} is damaged.`,
        );
      }
      await sink(
        openChunk(key, backup.backupId, entry.data, await getChunk(store, backup, entry.data)),
      );
      followed.push(entry.data);
      lastProgressAt = Date.now();
      pauseMs = 10;
      continue;
    }
    const manifestBytes = await getIfStored(store, `${backup.location}${BACKUP_MANIFEST_NAME}`);
    if (manifestBytes) {
      const manifest = parseManifest(manifestBytes, backup, datastore);
      if (manifest.chunks.length < index) {
        throw new TenantFacingError(
          `Backup ${backup.backupId}: its manifest lists ${manifest.chunks.length} chunks, but ${index} were stored.`,
        );
      }
      for (const [at, entry] of followed.entries()) {
        const listed = manifest.chunks[at]!;
        if (JSON.stringify(listed) !== JSON.stringify(entry)) {
          throw new TenantFacingError(
            `Backup ${backup.backupId}: chunk ${at} (${entry.name}) is not the one its manifest lists.`,
          );
        }
      }
      for (const entry of manifest.chunks.slice(index)) {
        await sink(openChunk(key, backup.backupId, entry, await getChunk(store, backup, entry)));
      }
      return { manifest, manifestSha256: sha256Hex(manifestBytes) };
    }
    if (Date.now() - lastProgressAt > FOLLOW_STALL_MS) {
      throw new TenantFacingError(
        `Backup ${backup.backupId}: nothing more was stored for ${FOLLOW_STALL_MS / 60_000} minutes after chunk ${index - 1}; the backup seems to have stopped.`,
      );
    }
    await new Promise((tick) => setTimeout(tick, pauseMs));
    pauseMs = Math.min(pauseMs * 2, FOLLOW_POLL_MAX_MS);
  }
}
