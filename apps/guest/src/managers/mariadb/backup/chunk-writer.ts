import { backupChunkName, type BackupChunk } from '@coffer/contracts';
import { type ObjectStore } from '@coffer/objectstore';

import { sealChunk } from './chunk-crypto';

/**
 * Cuts a compressed stream into fixed-size chunks, seals each (AES-256-GCM, SHA-256) and
 * uploads them with at most `concurrency` uploads in flight. `write` waits while that many
 * are in flight, so a caller reading a child's stdout with `for await` stops reading, the
 * pipe fills and the backup tool waits: memory stays at about one plaintext chunk plus
 * `concurrency` sealed ones, whatever the database's size.
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
}

export class ChunkWriter {
  private readonly buffer: Buffer;
  private filled = 0;
  private readonly chunks: BackupChunk[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | null = null;
  private isFinished = false;
  storedBytes = 0;
  plainBytes = 0;

  constructor(private readonly options: ChunkWriterOptions) {
    this.buffer = Buffer.allocUnsafe(options.chunkBytes);
  }

  /** Appends data; resolves once it is buffered (waiting for an upload slot when a chunk fills). */
  async write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(data.length - offset, this.buffer.length - this.filled);
      data.copy(this.buffer, this.filled, offset, offset + take);
      this.filled += take;
      offset += take;
      if (this.filled === this.buffer.length) await this.seal();
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private async seal(): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.options.concurrency) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
    const { store, location, key, backupId } = this.options;
    const index = this.chunks.length;
    const plaintext = this.buffer.subarray(0, this.filled);
    const sealed = sealChunk(key, backupId, index, plaintext);
    const name = backupChunkName(index);
    this.chunks.push({
      index,
      name,
      size: sealed.stored.length,
      plainSize: plaintext.length,
      sha256: sealed.sha256,
      iv: sealed.iv,
      tag: sealed.tag,
    });
    this.plainBytes += plaintext.length;
    this.filled = 0;
    const upload: Promise<void> = store
      .put(`${location}${name}`, sealed.stored)
      .then(() => {
        this.storedBytes += sealed.stored.length;
        this.options.onStored?.(this.storedBytes);
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
    if (this.filled > 0 || this.chunks.length === 0) await this.seal();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    return this.chunks;
  }

  /** Waits for uploads under way (after a failure, before their objects are removed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }
}
