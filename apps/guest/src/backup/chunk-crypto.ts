import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  type CipherGCM,
} from 'node:crypto';

import { backupChunkAad, type BackupChunk } from '@coffer/contracts';

/**
 * One backup chunk sealed with AES-256-GCM: a fresh 12-byte IV each time, the associated
 * data binds it to its backup and its place in it (a chunk moved to another index or
 * another backup does not open), and the SHA-256 of what is stored lets a restore reject a
 * damaged chunk before it tries the key.
 */

export interface SealedChunk {
  stored: Buffer;
  iv: string;
  tag: string;
  sha256: string;
  plainSize: number;
}

/**
 * Plaintext sealed per cipher and hash call when the chunk is staged in its buffer: large
 * enough that the calls, and the ciphertext buffers Node allocates for each, are few (32 per
 * 8 MiB chunk instead of one per 64 KiB pipe read), small enough that a piece is still in
 * the CPU's cache when it is hashed and copied back right after it is encrypted.
 */
export const SEAL_PIECE_BYTES = 256 * 1024;

/**
 * Seals one chunk as its plaintext arrives, piece by piece. Given `into` (a buffer at least
 * as long as the chunk: GCM adds no padding), the plaintext is staged in it and sealed in
 * place, {@link SEAL_PIECE_BYTES} at a time: each piece is encrypted, its ciphertext hashed
 * and written back over the plaintext it came from, and `stored` is a view of the buffer. A
 * writer reuses a few chunk buffers for a whole backup, and the only garbage is one
 * ciphertext piece per MiB. Without `into`, each piece is encrypted at once and the pieces
 * are concatenated at the end.
 */
export class ChunkSealer {
  private readonly iv = randomBytes(12);
  private readonly cipher: CipherGCM;
  private readonly hash = createHash('sha256');
  private readonly pieces: Buffer[] = [];
  /** Bytes of ciphertext so far (in `into`: from its start). */
  private storedSize = 0;
  /** Bytes of `into` already encrypted (what follows, up to `plainSize`, is staged plaintext). */
  private sealedSize = 0;
  plainSize = 0;

  constructor(
    key: Buffer,
    backupId: string,
    index: number,
    private readonly into?: Buffer,
  ) {
    this.cipher = createCipheriv('aes-256-gcm', key, this.iv);
    this.cipher.setAAD(Buffer.from(backupChunkAad(backupId, index)));
  }

  update(plaintext: Buffer): void {
    if (!this.into) {
      this.keep(this.cipher.update(plaintext));
      this.plainSize += plaintext.length;
      return;
    }
    if (this.plainSize + plaintext.length > this.into.length)
      throw new Error('the chunk is longer than its buffer');
    plaintext.copy(this.into, this.plainSize);
    this.plainSize += plaintext.length;
    if (this.plainSize - this.sealedSize >= SEAL_PIECE_BYTES) this.sealStaged();
  }

  /** Encrypts the staged plaintext in place, whole pieces only unless `all`. */
  private sealStaged(all = false): void {
    const into = this.into!;
    while (this.plainSize - this.sealedSize >= (all ? 1 : SEAL_PIECE_BYTES)) {
      const end = Math.min(this.plainSize, this.sealedSize + SEAL_PIECE_BYTES);
      const piece = this.cipher.update(into.subarray(this.sealedSize, end));
      this.sealedSize = end;
      // Ciphertext so far never outgrows the plaintext encrypted so far: the write lands
      // on plaintext already consumed, never on what is still staged.
      this.keep(piece);
    }
  }

  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    this.hash.update(piece);
    if (this.into) {
      if (this.storedSize + piece.length > this.into.length)
        throw new Error('the chunk is longer than its buffer');
      piece.copy(this.into, this.storedSize);
    } else {
      this.pieces.push(piece);
    }
    this.storedSize += piece.length;
  }

  finish(): SealedChunk {
    if (this.into) this.sealStaged(true);
    this.keep(this.cipher.final());
    return {
      stored: this.into
        ? this.into.subarray(0, this.storedSize)
        : this.pieces.length === 1
          ? this.pieces[0]!
          : Buffer.concat(this.pieces),
      iv: this.iv.toString('base64'),
      tag: this.cipher.getAuthTag().toString('base64'),
      sha256: this.hash.digest('hex'),
      plainSize: this.plainSize,
    };
  }
}

/** Seals a whole chunk at once. */
export function sealChunk(
  key: Buffer,
  backupId: string,
  index: number,
  plaintext: Buffer,
): SealedChunk {
  const sealer = new ChunkSealer(key, backupId, index);
  sealer.update(plaintext);
  return sealer.finish();
}

export type ChunkProblem = 'size' | 'hash' | 'tag';

export class ChunkVerificationError extends Error {
  constructor(
    readonly backupId: string,
    readonly chunk: Pick<BackupChunk, 'index' | 'name'>,
    readonly problem: ChunkProblem,
  ) {
    super(
      `Backup ${backupId}: chunk ${chunk.index} (${chunk.name}) ${
        problem === 'tag'
          ? 'failed authentication: it was tampered with or the backup key is wrong'
          : problem === 'hash'
            ? 'is damaged: its SHA-256 does not match the manifest'
            : 'is damaged: its size does not match the manifest'
      }.`,
    );
    this.name = 'ChunkVerificationError';
  }
}

/**
 * Bytes hashed, and bytes decrypted, per call by {@link openChunkInPlace}: between two calls
 * the restore gives its event loop a turn, in which the previous chunk's plaintext keeps
 * flowing into the unpacker (its socket holds ~200 KiB, which `zstd -d` takes in under a
 * millisecond: checking a whole 8 MiB chunk in one go, ~11 ms, left it idle for that long
 * every chunk).
 */
export const OPEN_PIECE_BYTES = 256 * 1024;

function decipherOf(key: Buffer, backupId: string, chunk: BackupChunk) {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(chunk.iv, 'base64'));
  decipher.setAAD(Buffer.from(backupChunkAad(backupId, chunk.index)));
  decipher.setAuthTag(Buffer.from(chunk.tag, 'base64'));
  return decipher;
}

/**
 * {@link openChunk} in place and in pieces: the same checks in the same order (size, SHA-256
 * of all of `stored`, then AES-256-GCM with its tag), each {@link OPEN_PIECE_BYTES} at a time
 * with `between()` awaited between pieces, and the plaintext written back over the ciphertext
 * it came from (GCM adds no padding). Resolves with a view of `stored` holding the plaintext
 * only once the hash and the tag passed; after a failure `stored` holds partly decrypted,
 * unauthenticated bytes and must be dropped. No chunk-sized buffer is allocated, only one
 * piece of plaintext at a time.
 */
export async function openChunkInPlace(
  key: Buffer,
  backupId: string,
  chunk: BackupChunk,
  stored: Buffer,
  between: () => Promise<void>,
): Promise<Buffer> {
  if (stored.length !== chunk.size) throw new ChunkVerificationError(backupId, chunk, 'size');
  const hash = createHash('sha256');
  for (let offset = 0; offset < stored.length; offset += OPEN_PIECE_BYTES) {
    if (offset > 0) await between();
    hash.update(stored.subarray(offset, offset + OPEN_PIECE_BYTES));
  }
  if (hash.digest('hex') !== chunk.sha256)
    throw new ChunkVerificationError(backupId, chunk, 'hash');
  let written = 0;
  try {
    const decipher = decipherOf(key, backupId, chunk);
    for (let offset = 0; offset < stored.length; offset += OPEN_PIECE_BYTES) {
      await between();
      const piece = decipher.update(stored.subarray(offset, offset + OPEN_PIECE_BYTES));
      // Plaintext so far never outgrows the ciphertext read so far: it lands on bytes already deciphered.
      piece.copy(stored, written);
      written += piece.length;
    }
    const last = decipher.final();
    if (written + last.length > stored.length)
      throw new ChunkVerificationError(backupId, chunk, 'size');
    last.copy(stored, written);
    written += last.length;
  } catch (error) {
    if (error instanceof ChunkVerificationError) throw error;
    throw new ChunkVerificationError(backupId, chunk, 'tag');
  }
  if (written !== chunk.plainSize) throw new ChunkVerificationError(backupId, chunk, 'size');
  return stored.subarray(0, written);
}

/** Checks a stored chunk against its manifest entry (size, SHA-256, then the GCM tag) and returns its plaintext. */
export function openChunk(
  key: Buffer,
  backupId: string,
  chunk: BackupChunk,
  stored: Buffer,
): Buffer {
  if (stored.length !== chunk.size) throw new ChunkVerificationError(backupId, chunk, 'size');
  if (createHash('sha256').update(stored).digest('hex') !== chunk.sha256) {
    throw new ChunkVerificationError(backupId, chunk, 'hash');
  }
  try {
    const decipher = decipherOf(key, backupId, chunk);
    const plaintext = Buffer.concat([decipher.update(stored), decipher.final()]);
    if (plaintext.length !== chunk.plainSize)
      throw new ChunkVerificationError(backupId, chunk, 'size');
    return plaintext;
  } catch (error) {
    if (error instanceof ChunkVerificationError) throw error;
    throw new ChunkVerificationError(backupId, chunk, 'tag');
  }
}
