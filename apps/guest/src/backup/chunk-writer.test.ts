import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { backupChunkInfoName, backupChunkName } from '@coffer/contracts';
import { createObjectStore, type ObjectStore } from '@coffer/objectstore';
import { afterEach, describe, expect, it } from 'vitest';

import { openChunk } from './chunk-crypto';
import { ChunkWriter, type ChunkWriterOptions } from './chunk-writer';

const key = randomBytes(32);
const location = 'backups/p/b/';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A real local object store in a scratch dir. */
function localStore(): ObjectStore {
  const root = mkdtempSync(join(tmpdir(), 'coffer-chunk-writer-'));
  const store = createObjectStore({ kind: 'local', root });
  cleanups.push(async () => {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });
  return store;
}

function writer(store: ObjectStore, overrides: Partial<ChunkWriterOptions> = {}) {
  const backupId = randomUUID();
  return {
    backupId,
    writer: new ChunkWriter({
      store,
      location,
      key,
      backupId,
      chunkBytes: 1024,
      concurrency: 2,
      ...overrides,
    }),
  };
}

/** Writes `data` in pieces of the given sizes (cycled), as a child's stdout arrives. */
async function writeInPieces(target: ChunkWriter, data: Buffer, sizes: number[]): Promise<void> {
  for (let offset = 0, at = 0; offset < data.length; at++) {
    const size = sizes[at % sizes.length]!;
    await target.write(data.subarray(offset, offset + size));
    offset += size;
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('chunk writer', () => {
  it('takes pieces from one reused buffer (append): null when taken at once, a promise while an upload slot is awaited', async () => {
    const store = localStore();
    const { backupId, writer: chunkWriter } = writer(store, { concurrency: 1 });
    const data = randomBytes(5 * 1024 + 300);
    // As the output channel reads: every piece lands in the same buffer, overwritten once taken.
    const readBuffer = Buffer.alloc(700);
    let waited = 0;
    for (let offset = 0; offset < data.length; offset += readBuffer.length) {
      const size = data.copy(readBuffer, 0, offset, offset + readBuffer.length);
      const pending = chunkWriter.append(readBuffer.subarray(0, size));
      if (pending) {
        waited++;
        await pending;
      }
      readBuffer.fill(0xee);
    }
    const chunks = await chunkWriter.finish();
    // One upload at a time: a chunk that fills while the previous one is stored waits.
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(chunks.length);
    const plaintexts: Buffer[] = [];
    for (const chunk of chunks)
      plaintexts.push(openChunk(key, backupId, chunk, await store.get(`${location}${chunk.name}`)));
    expect(Buffer.concat(plaintexts).equals(data)).toBe(true);
  });

  it('cuts the stream at fixed boundaries, the last chunk partial, each sealed, hashed and stored in order', async () => {
    const store = localStore();
    const { backupId, writer: chunkWriter } = writer(store);
    const data = randomBytes(2 * 1024 + 512);
    await writeInPieces(chunkWriter, data, [100, 1500, 7, 3000]);
    const chunks = await chunkWriter.finish();

    expect(chunks.map((chunk) => chunk.plainSize)).toEqual([1024, 1024, 512]);
    expect(chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2]);
    expect(chunks.map((chunk) => chunk.name)).toEqual([0, 1, 2].map(backupChunkName));
    const plaintexts: Buffer[] = [];
    for (const chunk of chunks) {
      const stored = await store.get(`${location}${chunk.name}`);
      expect(stored).toHaveLength(chunk.size);
      expect(sha256(stored)).toBe(chunk.sha256);
      plaintexts.push(openChunk(key, backupId, chunk, stored));
    }
    expect(plaintexts.map((plaintext) => plaintext.length)).toEqual([1024, 1024, 512]);
    expect(Buffer.concat(plaintexts).equals(data)).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.iv)).size).toBe(3);
    expect(chunkWriter.plainBytes).toBe(data.length);
    expect(chunkWriter.storedBytes).toBe(chunks.reduce((sum, chunk) => sum + chunk.size, 0));
  });

  it('makes no empty chunk after a stream of whole chunks, and cuts one write across several', async () => {
    const store = localStore();
    const { writer: chunkWriter } = writer(store);
    await chunkWriter.write(randomBytes(3 * 1024));
    const chunks = await chunkWriter.finish();
    expect(chunks.map((chunk) => chunk.plainSize)).toEqual([1024, 1024, 1024]);
    expect((await store.list(location)).map((object) => object.name)).toEqual(
      [0, 1, 2].map((index) => `${location}${backupChunkName(index)}`),
    );
  });

  it('stores one empty chunk for an empty stream', async () => {
    const store = localStore();
    const { backupId, writer: chunkWriter } = writer(store);
    const chunks = await chunkWriter.finish();
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ index: 0, name: backupChunkName(0), size: 0, plainSize: 0 });
    const stored = await store.get(`${location}${backupChunkName(0)}`);
    expect(sha256(stored)).toBe(chunks[0]!.sha256);
    expect(openChunk(key, backupId, chunks[0]!, stored)).toHaveLength(0);
    await expect(chunkWriter.finish()).rejects.toThrow('already finished');
  });

  it('reports the bytes stored after each chunk, and stores each entry beside its chunk when followed', async () => {
    const store = localStore();
    const reported: number[] = [];
    const { writer: chunkWriter } = writer(store, {
      isFollowed: true,
      onStored: (storedBytes) => reported.push(storedBytes),
    });
    await chunkWriter.write(randomBytes(1024 + 10));
    const chunks = await chunkWriter.finish();
    // Cumulative, in the order the uploads ended (they run side by side).
    expect(reported).toHaveLength(2);
    expect(chunks.map((chunk) => chunk.size)).toContain(reported[0]);
    expect(reported[1]).toBe(chunkWriter.storedBytes);
    for (const chunk of chunks) {
      const entry = JSON.parse(
        (await store.get(`${location}${backupChunkInfoName(chunk.index)}`)).toString('utf8'),
      ) as unknown;
      expect(entry).toEqual(chunk);
    }
  });

  it('waits for an upload slot when a chunk is full and `concurrency` uploads are in flight', async () => {
    const inner = localStore();
    const releases: Array<() => void> = [];
    const gated: ObjectStore = {
      ...inner,
      put: async (name, body) => {
        await new Promise<void>((release) => releases.push(release));
        return inner.put(name, body);
      },
    };
    const { writer: chunkWriter } = writer(gated, { concurrency: 1 });
    await chunkWriter.write(randomBytes(1024)); // chunk 0 fills: its upload starts
    let isSecondWritten = false;
    const second = chunkWriter.write(randomBytes(1024)).then(() => (isSecondWritten = true));
    await new Promise((tick) => setTimeout(tick, 50));
    expect(releases).toHaveLength(1);
    expect(isSecondWritten).toBe(false);
    releases.shift()!();
    await second;
    expect(isSecondWritten).toBe(true);
    const finished = chunkWriter.finish();
    expect(releases).toHaveLength(1);
    releases.shift()!();
    expect((await finished).map((chunk) => chunk.plainSize)).toEqual([1024, 1024]);
  });

  it('seals every chunk into one of (concurrency + 1) buffers, never one whose upload is still reading it', async () => {
    const inner = localStore();
    const buffers = new Set<ArrayBufferLike>();
    // A slow store that reads the body only at the end of its upload, as a network put may.
    const slow: ObjectStore = {
      ...inner,
      put: async (name, body) => {
        buffers.add(body.buffer);
        await new Promise((tick) => setTimeout(tick, 1 + Math.floor(Math.random() * 5)));
        return inner.put(name, Buffer.from(body));
      },
    };
    const { backupId, writer: chunkWriter } = writer(slow, { concurrency: 2 });
    const data = randomBytes(12 * 1024 + 100);
    await writeInPieces(chunkWriter, data, [300, 1024, 2000, 17]);
    const chunks = await chunkWriter.finish();
    expect(chunks).toHaveLength(13);
    expect(buffers.size).toBeLessThanOrEqual(3);
    const plaintexts: Buffer[] = [];
    for (const chunk of chunks)
      plaintexts.push(openChunk(key, backupId, chunk, await inner.get(`${location}${chunk.name}`)));
    expect(Buffer.concat(plaintexts).equals(data)).toBe(true);
  });

  it('fails the stream when a chunk cannot be stored, naming it', async () => {
    const inner = localStore();
    const failing: ObjectStore = {
      ...inner,
      put: (name, body) =>
        name.endsWith(backupChunkName(1))
          ? Promise.reject(new Error('disk full'))
          : inner.put(name, body),
    };
    const { writer: chunkWriter } = writer(failing, { concurrency: 1 });
    await chunkWriter.write(randomBytes(2 * 1024));
    await expect(chunkWriter.finish()).rejects.toThrow('storing chunk 1 failed: disk full');
  });
});
