import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { backupChunkName, type BackupChunk } from '@coffer/contracts';
import { describe, expect, it } from 'vitest';

import {
  ChunkSealer,
  ChunkVerificationError,
  openChunk,
  openChunkInPlace,
  OPEN_PIECE_BYTES,
  SEAL_PIECE_BYTES,
  sealChunk,
  type SealedChunk,
} from './chunk-crypto';

const key = randomBytes(32);
const backupId = randomUUID();

/** The manifest entry a chunk writer would record for a sealed chunk. */
function entryOf(sealed: SealedChunk, index: number): BackupChunk {
  return {
    index,
    name: backupChunkName(index),
    size: sealed.stored.length,
    plainSize: sealed.plainSize,
    sha256: sealed.sha256,
    iv: sealed.iv,
    tag: sealed.tag,
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The problem openChunk names, or null when it opened. */
function problemOf(open: () => unknown): string | null {
  try {
    open();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ChunkVerificationError);
    return (error as ChunkVerificationError).problem;
  }
}

describe('chunk crypto', () => {
  it('opens what it sealed, and records the SHA-256 and sizes of what is stored', () => {
    const plaintext = randomBytes(100_000);
    const sealed = sealChunk(key, backupId, 3, plaintext);
    expect(sealed.plainSize).toBe(plaintext.length);
    expect(sealed.sha256).toBe(sha256(sealed.stored));
    expect(Buffer.from(sealed.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64')).toHaveLength(16);
    expect(sealed.stored.equals(plaintext)).toBe(false);
    expect(openChunk(key, backupId, entryOf(sealed, 3), sealed.stored).equals(plaintext)).toBe(
      true,
    );
  });

  it('seals piece by piece exactly as at once, with a fresh IV each time', () => {
    const plaintext = randomBytes(5000);
    const sealer = new ChunkSealer(key, backupId, 0);
    for (let offset = 0; offset < plaintext.length; offset += 777)
      sealer.update(plaintext.subarray(offset, offset + 777));
    const pieces = sealer.finish();
    expect(pieces.plainSize).toBe(plaintext.length);
    expect(openChunk(key, backupId, entryOf(pieces, 0), pieces.stored).equals(plaintext)).toBe(
      true,
    );
    const again = sealChunk(key, backupId, 0, plaintext);
    expect(again.iv).not.toBe(pieces.iv);
    expect(again.stored.equals(pieces.stored)).toBe(false);
  });

  it('seals a chunk staged in its buffer in place, across whole and partial pieces, as it seals without one', () => {
    const plaintext = randomBytes(2 * SEAL_PIECE_BYTES + 12_345);
    const into = Buffer.alloc(plaintext.length + 100);
    const sealer = new ChunkSealer(key, backupId, 4, into);
    // Uneven pieces: some cross a sealing boundary, one is larger than a sealing piece.
    const sizes = [1, 70_000, SEAL_PIECE_BYTES + 3, 999, 50_000];
    for (let offset = 0, at = 0; offset < plaintext.length; at++) {
      const size = sizes[at % sizes.length]!;
      sealer.update(plaintext.subarray(offset, offset + size));
      offset += size;
    }
    const sealed = sealer.finish();
    expect(sealed.plainSize).toBe(plaintext.length);
    expect(sealed.stored).toHaveLength(plaintext.length);
    // A view of the buffer, not a copy: the writer reuses its buffers.
    expect(sealed.stored.buffer).toBe(into.buffer);
    expect(sealed.sha256).toBe(sha256(sealed.stored));
    expect(openChunk(key, backupId, entryOf(sealed, 4), sealed.stored).equals(plaintext)).toBe(
      true,
    );
    expect(() =>
      new ChunkSealer(key, backupId, 0, Buffer.alloc(10)).update(randomBytes(11)),
    ).toThrow(/longer than its buffer/);
  });

  it('seals and opens an empty chunk', () => {
    const sealed = sealChunk(key, backupId, 0, Buffer.alloc(0));
    expect(sealed.stored).toHaveLength(0);
    expect(openChunk(key, backupId, entryOf(sealed, 0), sealed.stored)).toHaveLength(0);
  });

  it('refuses tampered ciphertext: by its SHA-256, or by its tag when the hash was forged too', () => {
    const sealed = sealChunk(key, backupId, 0, randomBytes(4096));
    const tampered = Buffer.from(sealed.stored);
    tampered[1000]! ^= 0x01;
    expect(problemOf(() => openChunk(key, backupId, entryOf(sealed, 0), tampered))).toBe('hash');
    const forged = { ...entryOf(sealed, 0), sha256: sha256(tampered) };
    expect(problemOf(() => openChunk(key, backupId, forged, tampered))).toBe('tag');
  });

  it('refuses a tampered tag or IV', () => {
    const sealed = sealChunk(key, backupId, 0, randomBytes(4096));
    const tag = Buffer.from(sealed.tag, 'base64');
    tag[0]! ^= 0x80;
    const badTag = { ...entryOf(sealed, 0), tag: tag.toString('base64') };
    expect(problemOf(() => openChunk(key, backupId, badTag, sealed.stored))).toBe('tag');
    const badIv = { ...entryOf(sealed, 0), iv: randomBytes(12).toString('base64') };
    expect(problemOf(() => openChunk(key, backupId, badIv, sealed.stored))).toBe('tag');
  });

  it('refuses a wrong key, naming the backup and the chunk', () => {
    const sealed = sealChunk(key, backupId, 2, randomBytes(4096));
    let error: unknown;
    try {
      openChunk(randomBytes(32), backupId, entryOf(sealed, 2), sealed.stored);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ChunkVerificationError);
    expect((error as Error).message).toBe(
      `Backup ${backupId}: chunk 2 (chunk-000002) failed authentication: it was tampered with or the backup key is wrong.`,
    );
  });

  it('refuses a chunk moved to another place or another backup (the associated data)', () => {
    const sealed = sealChunk(key, backupId, 1, randomBytes(4096));
    expect(problemOf(() => openChunk(key, backupId, entryOf(sealed, 0), sealed.stored))).toBe(
      'tag',
    );
    expect(problemOf(() => openChunk(key, randomUUID(), entryOf(sealed, 1), sealed.stored))).toBe(
      'tag',
    );
  });

  it('refuses a chunk whose sizes are not the manifest entry', () => {
    const sealed = sealChunk(key, backupId, 0, randomBytes(4096));
    const truncated = sealed.stored.subarray(0, sealed.stored.length - 1);
    expect(problemOf(() => openChunk(key, backupId, entryOf(sealed, 0), truncated))).toBe('size');
    const wrongPlainSize = { ...entryOf(sealed, 0), plainSize: sealed.plainSize + 1 };
    expect(problemOf(() => openChunk(key, backupId, wrongPlainSize, sealed.stored))).toBe('size');
  });

  describe('opened in place, piece by piece (a restore)', () => {
    /** The problem openChunkInPlace names, or null when it opened. */
    async function problemInPlace(open: () => Promise<unknown>): Promise<string | null> {
      try {
        await open();
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(ChunkVerificationError);
        return (error as ChunkVerificationError).problem;
      }
    }
    const turn = () => Promise.resolve();

    it('gives the plaintext openChunk gives, in the stored buffer, with a turn between pieces', async () => {
      const plaintext = randomBytes(2 * OPEN_PIECE_BYTES + 12_345);
      const sealed = sealChunk(key, backupId, 5, plaintext);
      const stored = Buffer.from(sealed.stored);
      let turns = 0;
      const opened = await openChunkInPlace(key, backupId, entryOf(sealed, 5), stored, () => {
        turns++;
        return Promise.resolve();
      });
      expect(opened.equals(plaintext)).toBe(true);
      expect(opened.equals(openChunk(key, backupId, entryOf(sealed, 5), sealed.stored))).toBe(true);
      // A view of the buffer it was given, not a copy.
      expect(opened.buffer).toBe(stored.buffer);
      // Three pieces hashed (two turns between them), three deciphered (a turn before each).
      expect(turns).toBe(5);
      const empty = sealChunk(key, backupId, 0, Buffer.alloc(0));
      expect(
        await openChunkInPlace(key, backupId, entryOf(empty, 0), empty.stored, turn),
      ).toHaveLength(0);
    });

    it('checks the whole SHA-256 before it deciphers anything, then the tag', async () => {
      const sealed = sealChunk(key, backupId, 0, randomBytes(OPEN_PIECE_BYTES + 4096));
      const tampered = Buffer.from(sealed.stored);
      // In the last piece: a hash checked piece by piece as it goes would have deciphered the first.
      tampered[tampered.length - 10]! ^= 0x01;
      const untouched = Buffer.from(tampered);
      expect(
        await problemInPlace(() =>
          openChunkInPlace(key, backupId, entryOf(sealed, 0), tampered, turn),
        ),
      ).toBe('hash');
      expect(tampered.equals(untouched)).toBe(true);
      const forged = { ...entryOf(sealed, 0), sha256: sha256(tampered) };
      expect(
        await problemInPlace(() => openChunkInPlace(key, backupId, forged, tampered, turn)),
      ).toBe('tag');
    });

    it('refuses a wrong key, tag, IV, place, or sizes as openChunk does', async () => {
      const sealed = sealChunk(key, backupId, 1, randomBytes(OPEN_PIECE_BYTES * 2));
      const entry = entryOf(sealed, 1);
      const tag = Buffer.from(sealed.tag, 'base64');
      tag[0]! ^= 0x80;
      const cases: Array<[Buffer, BackupChunk, Buffer, string, string]> = [
        [randomBytes(32), entry, sealed.stored, backupId, 'tag'],
        [key, { ...entry, tag: tag.toString('base64') }, sealed.stored, backupId, 'tag'],
        [key, { ...entry, iv: randomBytes(12).toString('base64') }, sealed.stored, backupId, 'tag'],
        [key, { ...entryOf(sealed, 0), index: 0 }, sealed.stored, backupId, 'tag'],
        [key, entry, sealed.stored, randomUUID(), 'tag'],
        [key, entry, sealed.stored.subarray(1), backupId, 'size'],
        [key, { ...entry, plainSize: entry.plainSize - 1 }, sealed.stored, backupId, 'size'],
      ];
      for (const [withKey, withEntry, stored, ofBackup, problem] of cases) {
        expect(
          await problemInPlace(() =>
            openChunkInPlace(withKey, ofBackup, withEntry, Buffer.from(stored), turn),
          ),
        ).toBe(problem);
      }
    });
  });
});
