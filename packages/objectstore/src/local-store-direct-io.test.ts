import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { allocateBlockAligned, LocalDirectoryStore } from './index';

/**
 * A backup's chunks go to a local store with direct I/O (block-aligned.ts): written and read
 * without passing through the page cache, which util-linux's `fincore` shows (how much of a
 * file the cache holds).
 */

const root = mkdtempSync(join(process.env.COFFER_TEST_DATA_DIR ?? tmpdir(), 'coffer-direct-io-'));
const store = new LocalDirectoryStore(root);
const CHUNK = 8 * 1024 * 1024;

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Bytes of the object's file in the page cache. */
function cachedBytes(name: string): number {
  const path = join(root, ...name.split('/'));
  return Number(
    execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], {
      encoding: 'utf8',
    }).trim(),
  );
}

function randomAligned(bytes: number, room = bytes): Buffer {
  const buffer = allocateBlockAligned(room);
  randomBytes(bytes).copy(buffer);
  return buffer.subarray(0, bytes);
}

describe('the local store with page-aligned buffers', () => {
  it('writes a chunk past the page cache, a partial last block through it, and reads it back the same way', async () => {
    const body = randomAligned(CHUNK - 1000, CHUNK);
    await store.put('d/chunk-000000', body);
    // Only the last, partial block went through the cache.
    expect(cachedBytes('d/chunk-000000')).toBeLessThanOrEqual(4096);

    const target = allocateBlockAligned(CHUNK);
    target.fill(7);
    const got = await store.getInto('d/chunk-000000', target);
    expect(got.buffer).toBe(target.buffer);
    expect(got.equals(body)).toBe(true);
    expect(target[body.length]).toBe(7); // nothing written past the object
    expect(cachedBytes('d/chunk-000000')).toBeLessThanOrEqual(4096);
    // The same bytes as a plain read sees.
    expect(readFileSync(join(root, 'd', 'chunk-000000')).equals(body)).toBe(true);
  });

  it('writes and reads an ordinary buffer, or an unaligned view, through the cache as before', async () => {
    const body = randomBytes(CHUNK);
    await store.put('d/plain', body);
    // The control: what a buffered write leaves in the cache.
    expect(cachedBytes('d/plain')).toBeGreaterThan(CHUNK / 2);

    const aligned = randomAligned(CHUNK);
    const unaligned = allocateBlockAligned(CHUNK + 4096).subarray(16, 16 + CHUNK);
    aligned.copy(unaligned);
    await store.put('d/unaligned', unaligned);
    expect(cachedBytes('d/unaligned')).toBeGreaterThan(CHUNK / 2);

    expect(
      (await store.getInto('d/plain', allocateBlockAligned(CHUNK + 4096).subarray(512))).equals(
        body,
      ),
    ).toBe(true);
    expect((await store.getInto('d/unaligned', Buffer.alloc(CHUNK))).equals(aligned)).toBe(true);
  });

  it('reads a whole-block object directly into a target of exactly its size, and a larger object into a new buffer', async () => {
    const body = randomAligned(CHUNK);
    await store.put('d/exact', body);
    expect(cachedBytes('d/exact')).toBe(0);
    const target = allocateBlockAligned(CHUNK);
    expect((await store.getInto('d/exact', target)).equals(body)).toBe(true);
    expect(cachedBytes('d/exact')).toBe(0);

    const small = allocateBlockAligned(CHUNK / 2);
    const larger = await store.getInto('d/exact', small);
    expect(larger.buffer).not.toBe(small.buffer);
    expect(larger.equals(body)).toBe(true);
  });

  it('says which object is missing', async () => {
    await expect(store.getInto('d/none', allocateBlockAligned(CHUNK))).rejects.toMatchObject({
      name: 'ObjectNotFoundError',
      objectName: 'd/none',
    });
  });
});
