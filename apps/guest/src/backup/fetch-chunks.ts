import { type BackupManifest, type RestoreBackup } from '@coffer/contracts';
import { type ObjectStore } from '@coffer/objectstore';

import { openChunk } from './chunk-crypto';
import { getChunk, throwIfStopped } from './stored-objects';

/** Chunks fetched ahead while the previous ones are checked and written. */
const PREFETCH = 4;

/** Every chunk of a completed backup in order (a few fetched ahead), each verified before its plaintext goes to `sink`. */
export async function fetchChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  manifest: BackupManifest,
  sink: (plaintext: Buffer) => Promise<void> | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const fetching = new Map<number, Promise<Buffer>>();
  const fetchChunk = (index: number) => {
    const promise = getChunk(store, backup, manifest.chunks[index]!);
    promise.catch(() => undefined);
    fetching.set(index, promise);
  };
  for (let index = 0; index < Math.min(PREFETCH, manifest.chunks.length); index++)
    fetchChunk(index);
  for (let index = 0; index < manifest.chunks.length; index++) {
    throwIfStopped(signal);
    const stored = await fetching.get(index)!;
    fetching.delete(index);
    if (index + PREFETCH < manifest.chunks.length) fetchChunk(index + PREFETCH);
    await sink(openChunk(key, backup.backupId, manifest.chunks[index]!, stored));
  }
}
