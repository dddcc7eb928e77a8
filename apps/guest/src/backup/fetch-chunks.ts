import { type BackupManifest, type RestoreBackup } from '@coffer/contracts';
import { allocateBlockAligned, type ObjectStore } from '@coffer/objectstore';

import { collectPieces } from './backup-heap';
import { openChunkInPlace } from './chunk-crypto';
import { getChunk, throwIfStopped } from './stored-objects';

/** Chunks fetched ahead while the previous ones are checked and written. */
const PREFETCH = 4;

/**
 * Bytes handed to the sink between two full collections, where a chunk comes in a buffer of
 * its own (a store that cannot read into one: Swift). Such a buffer lives across a few
 * young-generation collections (fetched ahead, checked, written), so it is promoted and only a
 * full collection frees it; left to itself V8 lets about 64 MiB of such dead buffers pile up
 * first (the restore runs with --optimize-for-size lifted: backup-heap.ts). One full
 * collection of the guest's small heap every 4 chunks (~10 ms) keeps the restoring guest's
 * peak to the chunks it holds. A local store reads each chunk into a buffer the sink has
 * released (ObjectStore.getInto): no dead chunk buffers, no full collection. Either way the
 * pieces a chunk is deciphered in go with a young-generation collection once it is opened.
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
 * guest checks; chunk n goes to `sink` once it passed and `sink` took chunk n - 1. From a
 * store that reads into a given buffer, the chunks come in a few buffers used again and again:
 * one is read into again only once the sink released the chunk it held (ChunkFeed), so the
 * restore holds at most the chunks fetched ahead, the one checked and the one written.
 */
export async function fetchChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  manifest: BackupManifest,
  sink: (plaintext: Buffer, release?: () => void) => Promise<void> | undefined,
  signal?: AbortSignal,
): Promise<void> {
  // Buffers the sink released, for the next chunks (a store that reads into them: getInto).
  const canReuse = typeof store.getInto === 'function';
  const bufferBytes = manifest.chunks.reduce((most, chunk) => Math.max(most, chunk.size), 0);
  const spare: Buffer[] = [];
  const fetching = new Map<number, { target: Buffer | null; read: Promise<Buffer> }>();
  const fetchChunk = (index: number) => {
    // Page-aligned: a local store reads into it without the page cache (direct I/O).
    const target = canReuse ? (spare.pop() ?? allocateBlockAligned(bufferBytes)) : null;
    const read = getChunk(store, backup, manifest.chunks[index]!, target ?? undefined);
    read.catch(() => undefined);
    fetching.set(index, { target, read });
  };
  for (let index = 0; index < Math.min(PREFETCH, manifest.chunks.length); index++)
    fetchChunk(index);
  // What `sink` still does with the previous chunk (waited for before it gets the next).
  let taking: Promise<void> | undefined;
  let sinceCollected = 0;
  for (let index = 0; index < manifest.chunks.length; index++) {
    throwIfStopped(signal);
    const { target, read } = fetching.get(index)!;
    const stored = await read;
    fetching.delete(index);
    if (index + PREFETCH < manifest.chunks.length) fetchChunk(index + PREFETCH);
    const plaintext = await openChunkInPlace(
      key,
      backup.backupId,
      manifest.chunks[index]!,
      stored,
      nextTurn,
    );
    // The pieces it was deciphered in (a chunk's worth, garbage now).
    collectPieces();
    await taking;
    throwIfStopped(signal);
    // Read into a buffer of ours (not a larger object's own): back to the spares once released.
    const ours = target !== null && stored.buffer === target.buffer ? target : null;
    if (!ours) sinceCollected += plaintext.length;
    if (sinceCollected >= COLLECT_EVERY_BYTES) {
      sinceCollected = 0;
      collectDeadChunks();
    }
    let isReleased = false;
    taking = sink(
      plaintext,
      ours
        ? () => {
            if (isReleased) return;
            isReleased = true;
            spare.push(ours);
          }
        : undefined,
    );
    // Awaited before the next chunk goes; a failure meanwhile is not an unhandled rejection.
    taking?.catch(() => undefined);
  }
  await taking;
}
