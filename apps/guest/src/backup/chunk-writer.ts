import { backupChunkInfoName, backupChunkName, type BackupChunk } from '@coffer/contracts';
import { allocateBlockAligned, type ObjectStore } from '@coffer/objectstore';

import { collectPieces } from './backup-heap';
import { ChunkSealer } from './chunk-crypto';

/**
 * Cuts a compressed stream into fixed-size chunks, seals each (AES-256-GCM, SHA-256) as its
 * bytes arrive, and uploads them with at most `concurrency` uploads in flight. When a chunk
 * is full and that many are in flight, `write` waits: a caller reading a child's stdout with
 * `for await` stops reading, the pipe fills and the backup tool waits. Each chunk is sealed
 * into one of at most `concurrency` + 1 chunk buffers, allocated once and reused for the
 * whole backup: memory stays at `concurrency` sealed chunks plus the one being filled,
 * whatever the database's size, and the garbage a backup leaves for the collector is only
 * the small pieces it reads and encrypts, not a chunk's worth per chunk.
 */
export interface ChunkWriterOptions {
  store: ObjectStore;
  /** The backup's prefix in the store. */
  location: string;
  key: Buffer;
  backupId: string;
  chunkBytes: number;
  concurrency: number;
  /** Called after each chunk is stored, with the bytes stored so far. */
  onStored?: (storedBytes: number) => void;
  /** Also store each chunk's manifest entry beside it, once the chunk is stored: a restore follows the backup. */
  isFollowed?: boolean;
}

export class ChunkWriter {
  private sealer: ChunkSealer | null = null;
  /** The buffer the chunk being filled is sealed into. */
  private buffer: Buffer | null = null;
  private readonly chunks: BackupChunk[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Chunk buffers no chunk is using (a chunk's buffer comes back once it is stored). */
  private readonly spare: Buffer[] = [];
  private failure: Error | null = null;
  private isFinished = false;
  storedBytes = 0;
  plainBytes = 0;

  constructor(private readonly options: ChunkWriterOptions) {}

  /** Appends data; resolves once it is sealed (waiting for an upload slot when a chunk fills). */
  async write(data: Buffer): Promise<void> {
    await this.append(data);
  }

  /**
   * Appends data: null when it was taken at once (the caller may reuse `data` right away),
   * otherwise a promise that resolves once it was (a chunk filled while `concurrency`
   * uploads were in flight): `data` must stay untouched until then.
   */
  append(data: Buffer): Promise<void> | null {
    const { chunkBytes, concurrency } = this.options;
    let offset = 0;
    while (offset < data.length) {
      const sealer = this.currentSealer();
      const take = Math.min(data.length - offset, chunkBytes - sealer.plainSize);
      sealer.update(
        offset === 0 && take === data.length ? data : data.subarray(offset, offset + take),
      );
      offset += take;
      if (sealer.plainSize === chunkBytes) {
        if (this.failure || this.inFlight.size >= concurrency)
          return this.uploadThenAppend(data.subarray(offset));
        this.startUpload();
      }
    }
    return null;
  }

  private async uploadThenAppend(rest: Buffer): Promise<void> {
    await this.upload();
    if (rest.length > 0) await this.append(rest);
  }

  private currentSealer(): ChunkSealer {
    if (!this.sealer) {
      this.buffer = this.chunkBuffer();
      this.sealer = new ChunkSealer(
        this.options.key,
        this.options.backupId,
        this.chunks.length,
        this.buffer,
      );
    }
    return this.sealer;
  }

  private chunkBuffer(): Buffer {
    // Page-aligned: a local store writes it to disk without the page cache (direct I/O).
    return this.spare.pop() ?? allocateBlockAligned(this.options.chunkBytes);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Finishes the chunk being filled and starts its upload, once a slot is free. */
  private async upload(): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.options.concurrency) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    this.startUpload();
  }

  /** Seals the chunk being filled (an empty one when none is) and starts its upload: a slot must be free. */
  private startUpload(): void {
    const { store, location } = this.options;
    const index = this.chunks.length;
    const sealer = this.currentSealer();
    const buffer = this.buffer!;
    this.sealer = null;
    this.buffer = null;
    const sealed = sealer.finish();
    collectPieces();
    const name = backupChunkName(index);
    const entry: BackupChunk = {
      index,
      name,
      size: sealed.stored.length,
      plainSize: sealed.plainSize,
      sha256: sealed.sha256,
      iv: sealed.iv,
      tag: sealed.tag,
    };
    this.chunks.push(entry);
    this.plainBytes += sealed.plainSize;
    const upload: Promise<void> = store
      .put(`${location}${name}`, sealed.stored)
      .then(async () => {
        // After the chunk itself: a follower that finds the entry finds the chunk.
        if (this.options.isFollowed) {
          await store.put(
            `${location}${backupChunkInfoName(index)}`,
            Buffer.from(JSON.stringify(entry)),
          );
        }
        this.storedBytes += sealed.stored.length;
        this.options.onStored?.(this.storedBytes);
        // Its bytes are stored: the buffer serves a later chunk.
        this.spare.push(buffer);
      })
      .catch((error: unknown) => {
        this.failure ??= new Error(`storing chunk ${index} failed: ${(error as Error).message}`, {
          cause: error,
        });
      })
      .finally(() => this.inFlight.delete(upload));
    this.inFlight.add(upload);
  }

  /** Seals what is left (an empty stream still makes one chunk), waits for every upload, returns the chunks in order. */
  async finish(): Promise<BackupChunk[]> {
    if (this.isFinished) throw new Error('the chunk writer is already finished');
    this.isFinished = true;
    if (this.sealer || this.chunks.length === 0) await this.upload();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    return this.chunks;
  }

  /** Waits for uploads under way (after a failure, before their objects are removed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }
}
