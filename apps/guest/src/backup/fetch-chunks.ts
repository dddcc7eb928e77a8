import { type BackupManifest, type RestoreBackup } from '@coffer/contracts';
import { type ObjectStore } from '@coffer/objectstore';

import { openChunkInPlace } from './chunk-crypto';
import { getChunk, throwIfStopped } from './stored-objects';

/** Chunks fetched ahead while the previous ones are checked and written. */
const PREFETCH = 4;

/**
 * Bytes handed to the sink between two full collections. Each chunk is read into a buffer
 * of its own that lives across a few young-generation collections (fetched ahead, checked,
 * written), so it is promoted and only a full collection frees it; left to itself V8 lets
 * about 64 MiB of such dead buffers pile up first (the restore runs with --optimize-for-size
 * lifted: backup-heap.ts). One full collection of the guest's small heap every 4 chunks
 * (~10 ms) keeps the restoring guest's peak to the chunks it holds.
 */
const COLLECT_EVERY_BYTES = 32 * 1024 * 1024;

function collectDeadChunks(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A turn of the event loop: the unpacker's pipe takes more of the chunk being written. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Every chunk of a completed backup in order (a few fetched ahead, in any order), each
 * verified before its plaintext goes to `sink`. Chunk n is checked (hash, then tag, in place:
 * chunk-crypto.ts openChunkInPlace) while chunk n - 1 is still being written, in pieces that
 * leave the event loop a turn between them, so the unpacker is not left waiting while the
 * guest checks; chunk n goes to `sink` once it passed and `sink` took chunk n - 1.
 */
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
  // What `sink` still does with the previous chunk (waited for before it gets the next).
  let taking: Promise<void> | undefined;
  let sinceCollected = 0;
  for (let index = 0; index < manifest.chunks.length; index++) {
    throwIfStopped(signal);
    const stored = await fetching.get(index)!;
    fetching.delete(index);
    if (index + PREFETCH < manifest.chunks.length) fetchChunk(index + PREFETCH);
    const plaintext = await openChunkInPlace(
      key,
      backup.backupId,
      manifest.chunks[index]!,
      stored,
      nextTurn,
    );
    await taking;
    throwIfStopped(signal);
    sinceCollected += plaintext.length;
    if (sinceCollected >= COLLECT_EVERY_BYTES) {
      sinceCollected = 0;
      collectDeadChunks();
    }
    taking = sink(plaintext);
    // Awaited before the next chunk goes; a failure meanwhile is not an unhandled rejection.
    taking?.catch(() => undefined);
  }
  await taking;
}
