import { randomBytes, randomUUID } from 'node:crypto';

import {
  backupChunkName,
  type BackupChunk,
  type BackupManifest,
  type RestoreBackup,
} from '@coffer/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@coffer/objectstore';
import { describe, expect, it } from 'vitest';

import { TenantFacingError } from '../errors';
import { ChunkVerificationError, OPEN_PIECE_BYTES, sealChunk } from './chunk-crypto';
import { fetchChunks } from './fetch-chunks';

const key = randomBytes(32);

interface Fixture {
  backup: RestoreBackup;
  manifest: BackupManifest;
  plaintexts: Buffer[];
  objects: Map<string, Buffer>;
}

/** A sealed backup of `count` chunks of uneven sizes (some span several pieces), as a chunk writer stores it. */
function sealedBackup(count: number): Fixture {
  const backupId = randomUUID();
  const backup = { backupId, location: `backups/${backupId}/`, type: 'FULL' } as RestoreBackup;
  const plaintexts: Buffer[] = [];
  const chunks: BackupChunk[] = [];
  const objects = new Map<string, Buffer>();
  for (let index = 0; index < count; index++) {
    const plaintext = randomBytes(index % 3 === 0 ? 2 * OPEN_PIECE_BYTES + index : 1000 + index);
    const sealed = sealChunk(key, backupId, index, plaintext);
    const name = backupChunkName(index);
    plaintexts.push(plaintext);
    chunks.push({
      index,
      name,
      size: sealed.stored.length,
      plainSize: sealed.plainSize,
      sha256: sealed.sha256,
      iv: sealed.iv,
      tag: sealed.tag,
    });
    objects.set(`${backup.location}${name}`, sealed.stored);
  }
  return { backup, manifest: { chunks } as BackupManifest, plaintexts, objects };
}

/**
 * A store whose reads finish in an order of its own: each `get` waits a few turns, later
 * chunks fewer than earlier ones, so the chunks fetched ahead arrive before the one awaited.
 * Each read is a copy (a restore deciphers in place).
 */
function shuffledStore(objects: Map<string, Buffer>, finished: string[]): ObjectStore {
  let calls = 0;
  return {
    get: async (name: string) => {
      const delay = 20 - (calls++ % 5) * 4;
      for (let turn = 0; turn < delay; turn++) await new Promise((tick) => setImmediate(tick));
      const bytes = objects.get(name);
      if (!bytes) throw new ObjectNotFoundError(name);
      finished.push(name);
      return Buffer.from(bytes);
    },
  } as unknown as ObjectStore;
}

/**
 * A local store's way (getInto): each read goes into the caller's buffer. Records every buffer
 * read into, and any read into one the sink still holds (`held`: given, not yet released).
 */
function readIntoStore(
  objects: Map<string, Buffer>,
  held: Set<ArrayBufferLike>,
): { store: ObjectStore; targets: Set<ArrayBufferLike>; overwrites: string[] } {
  const targets = new Set<ArrayBufferLike>();
  const overwrites: string[] = [];
  const store = {
    get: () => Promise.reject(new Error('getInto is there: get is not used')),
    getInto: async (name: string, target: Buffer) => {
      for (let turn = 0; turn < 3; turn++) await new Promise((tick) => setImmediate(tick));
      const bytes = objects.get(name);
      if (!bytes) throw new ObjectNotFoundError(name);
      if (held.has(target.buffer)) overwrites.push(name);
      targets.add(target.buffer);
      bytes.copy(target);
      return target.subarray(0, bytes.length);
    },
  } as unknown as ObjectStore;
  return { store, targets, overwrites };
}

describe('fetchChunks', () => {
  it('reads into a few buffers again and again, each only once the sink released the chunk it held', async () => {
    const { backup, manifest, plaintexts, objects } = sealedBackup(24);
    const held = new Set<ArrayBufferLike>();
    const { store, targets, overwrites } = readIntoStore(objects, held);
    const received: Buffer[] = [];
    await fetchChunks(store, key, backup, manifest, (plaintext, release) => {
      received.push(Buffer.from(plaintext));
      held.add(plaintext.buffer);
      // Released later, while the next chunks are fetched and checked (a write still queued).
      void (async () => {
        for (let turn = 0; turn < 5; turn++) await new Promise((tick) => setImmediate(tick));
        held.delete(plaintext.buffer);
        release?.();
        release?.(); // a second call changes nothing
      })();
      return undefined;
    });
    received.forEach((plaintext, index) => expect(plaintext.equals(plaintexts[index]!)).toBe(true));
    expect(received).toHaveLength(24);
    expect(overwrites).toEqual([]);
    // 24 chunks in the chunks fetched ahead (4), the one checked, and those this sink still
    // holds (it takes each at once and lets go 5 turns later: 2 or 3).
    expect(targets.size).toBeLessThanOrEqual(8);
  });

  it('reads into new buffers when the sink never releases', async () => {
    const { backup, manifest, plaintexts, objects } = sealedBackup(10);
    const held = new Set<ArrayBufferLike>();
    const { store, targets, overwrites } = readIntoStore(objects, held);
    const received: Buffer[] = [];
    await fetchChunks(store, key, backup, manifest, (plaintext) => {
      received.push(Buffer.from(plaintext));
      held.add(plaintext.buffer);
      return undefined;
    });
    received.forEach((plaintext, index) => expect(plaintext.equals(plaintexts[index]!)).toBe(true));
    expect(overwrites).toEqual([]);
    expect(targets.size).toBe(10);
  });

  it('gives every chunk in order, verified, whatever order the reads finish in', async () => {
    const { backup, manifest, plaintexts, objects } = sealedBackup(12);
    const finished: string[] = [];
    const received: Buffer[] = [];
    await fetchChunks(shuffledStore(objects, finished), key, backup, manifest, (plaintext) => {
      received.push(Buffer.from(plaintext));
      return undefined;
    });
    // The reads did finish out of order…
    const names = manifest.chunks.map((chunk) => `${backup.location}${chunk.name}`);
    expect(finished).not.toEqual(names);
    expect([...finished].sort()).toEqual([...names].sort());
    // … and the sink got each chunk's plaintext once, in the manifest's order.
    expect(received).toHaveLength(plaintexts.length);
    received.forEach((plaintext, index) => expect(plaintext.equals(plaintexts[index]!)).toBe(true));
  });

  it('gives the sink a chunk only once it took the previous one', async () => {
    const { backup, manifest, plaintexts, objects } = sealedBackup(6);
    const events: string[] = [];
    await fetchChunks(shuffledStore(objects, []), key, backup, manifest, (plaintext) => {
      const index = plaintexts.findIndex((candidate) => candidate.equals(plaintext));
      events.push(`start ${index}`);
      return (async () => {
        for (let turn = 0; turn < 30; turn++) await new Promise((tick) => setImmediate(tick));
        events.push(`end ${index}`);
      })();
    });
    expect(events).toEqual(plaintexts.flatMap((_, index) => [`start ${index}`, `end ${index}`]));
  });

  it('stops at a damaged chunk: the sink got only the chunks before it', async () => {
    const { backup, manifest, plaintexts, objects } = sealedBackup(9);
    const damaged = `${backup.location}${manifest.chunks[6]!.name}`;
    const bytes = Buffer.from(objects.get(damaged)!);
    bytes[bytes.length - 1]! ^= 0x01;
    objects.set(damaged, bytes);
    const received: Buffer[] = [];
    const fetched = fetchChunks(shuffledStore(objects, []), key, backup, manifest, (plaintext) => {
      received.push(Buffer.from(plaintext));
      return undefined;
    });
    await expect(fetched).rejects.toBeInstanceOf(ChunkVerificationError);
    await expect(fetched).rejects.toMatchObject({ problem: 'hash', chunk: { index: 6 } });
    expect(received).toHaveLength(6);
    received.forEach((plaintext, index) => expect(plaintext.equals(plaintexts[index]!)).toBe(true));
  });

  it('refuses a chunk whose tag does not match, and names a missing chunk', async () => {
    const forged = sealedBackup(4);
    forged.manifest.chunks[2] = {
      ...forged.manifest.chunks[2]!,
      tag: randomBytes(16).toString('base64'),
    };
    const received: number[] = [];
    await expect(
      fetchChunks(shuffledStore(forged.objects, []), key, forged.backup, forged.manifest, () => {
        received.push(received.length);
        return undefined;
      }),
    ).rejects.toMatchObject({ problem: 'tag', chunk: { index: 2 } });
    expect(received).toEqual([0, 1]);

    const missing = sealedBackup(4);
    missing.objects.delete(`${missing.backup.location}${missing.manifest.chunks[3]!.name}`);
    const fetched = fetchChunks(
      shuffledStore(missing.objects, []),
      key,
      missing.backup,
      missing.manifest,
      () => undefined,
    );
    await expect(fetched).rejects.toBeInstanceOf(TenantFacingError);
    await expect(fetched).rejects.toThrow(/chunk 3 \(chunk-000003\) is missing/);
  });

  it('fails with the sink when it fails while the next chunk is being checked', async () => {
    const { backup, manifest, objects } = sealedBackup(5);
    let calls = 0;
    await expect(
      fetchChunks(shuffledStore(objects, []), key, backup, manifest, () => {
        calls++;
        return calls === 2 ? Promise.reject(new Error('the unpacker stopped')) : undefined;
      }),
    ).rejects.toThrow('the unpacker stopped');
    expect(calls).toBe(2);
  });
});
