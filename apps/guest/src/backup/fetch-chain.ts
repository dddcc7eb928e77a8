import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { type BackupManifest, type RestoreBackup, type RestoreSpec } from '@coffer/contracts';
import { createObjectStore } from '@coffer/objectstore';
import { type Logger } from 'pino';

import { TenantFacingError } from '../errors';
import { openBackupAccess } from './access';
import { relaxHeapForBackup } from './backup-heap';
import { ChunkVerificationError } from './chunk-crypto';
import { fetchChunks } from './fetch-chunks';
import { followChunks } from './follow-chunks';
import { type ExpectedDatastore } from './manifest';
import { readManifest } from './read-manifest';
import { stageDirect } from './direct-stream/stage-direct';
import { type ChunkFeed, type RestoreStrategy } from './strategy';

/**
 * The first half of a restore (Trove's restore): every chunk of every backup of the chain is
 * fetched (a few ahead) and checked: its size, its SHA-256 against the manifest (whose own
 * SHA-256 the control plane recorded when the backup completed), then its AES-256-GCM tag.
 * A chunk's bytes go to the backup's restore strategy only once it passed, which stages them
 * in a scratch dir of the volume; nothing reaches the datadir here. A failure names the
 * backup and the chunk, and leaves no scratch dir behind.
 *
 * A full backup still being written (a replica's snapshot: `manifestSha256` null) is followed
 * (follow-chunks.ts); its manifest's SHA-256 is returned for the control plane to match.
 */

export interface ChainContext {
  volumeDir: string;
  guestSecret: string;
  /** This guest's datastore: a backup of another version is refused. */
  datastore: ExpectedDatastore;
  logger: Logger;
  /** Aborted when the guest stops: the fetch ends at its next chunk (or poll). */
  signal?: AbortSignal;
  /** The strategy that stages a backup of this type. */
  strategyFor(backup: RestoreBackup): RestoreStrategy;
}

export interface StagedBackup {
  backup: RestoreBackup;
  manifest: BackupManifest;
  manifestSha256: string;
  /** Where its restore strategy staged its verified stream. */
  path: string;
}

export interface FetchedChain {
  /** The restore's scratch dir; the caller removes it when done. */
  workDir: string;
  staged: StagedBackup[];
}

/** Fetches and verifies the whole chain into the scratch dir; nothing of it reaches the datadir yet. */
export async function fetchVerifiedChain(
  ctx: ChainContext,
  spec: RestoreSpec,
): Promise<FetchedChain> {
  const restorePoint = spec.backups.at(-1)!.backupId;
  const access = openBackupAccess(ctx.guestSecret, restorePoint, spec);
  const workDir = join(ctx.volumeDir, 'restore-work');
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const store = createObjectStore(access.store);
  const staged: StagedBackup[] = [];
  // Its chunks pass through the guest as a backup's do: the same collector settings.
  const restoreHeap = relaxHeapForBackup();
  try {
    let previous: BackupManifest | null = null;
    for (const backup of spec.backups) {
      const startedAt = Date.now();
      const strategy = ctx.strategyFor(backup);
      let manifest: BackupManifest;
      let manifestSha256: string;
      let path: string;
      const direct =
        backup.manifestSha256 === null && spec.direct
          ? await stageDirect(ctx, spec.direct, backup, strategy, workDir)
          : null;
      if (direct) {
        // Received straight from the source's guest (direct-stream/), its manifest at the end.
        ({ manifest, manifestSha256, path } = direct);
      } else if (backup.manifestSha256 === null) {
        // Followed while it is written: the manifest comes at the end.
        let followed: { manifest: BackupManifest; manifestSha256: string } | null = null;
        path = await strategy.stage(backup, workDir, async (sink) => {
          followed = await followChunks(store, access.key, backup, ctx, sink);
        });
        ({ manifest, manifestSha256 } = followed!);
      } else {
        manifest = await readManifest(store, backup, ctx.datastore);
        manifestSha256 = backup.manifestSha256;
        if (backup.type === 'INCREMENTAL' && manifest.parent?.backupId !== previous?.backupId) {
          throw new TenantFacingError(
            `Backup ${backup.backupId} is not based on backup ${previous?.backupId ?? '(none)'}: the chain is broken.`,
          );
        }
        const chunks = manifest;
        const feed: ChunkFeed = (sink) =>
          fetchChunks(store, access.key, backup, chunks, sink, ctx.signal);
        path = await strategy.stage(backup, workDir, feed);
      }
      ctx.logger.info(
        {
          backupId: backup.backupId,
          chunks: manifest.chunks.length,
          ms: Date.now() - startedAt,
          isFollowed: backup.manifestSha256 === null,
        },
        'backup fetched and verified',
      );
      staged.push({ backup, manifest, manifestSha256, path });
      previous = manifest;
    }
    return { workDir, staged };
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    if (error instanceof TenantFacingError) throw error;
    if (error instanceof ChunkVerificationError)
      throw new TenantFacingError(error.message, undefined, { cause: error });
    throw new TenantFacingError(
      `Restoring the backup failed: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  } finally {
    restoreHeap();
    await store.close();
  }
}
