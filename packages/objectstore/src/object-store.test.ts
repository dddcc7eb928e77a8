import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { testPorts } from '@coffer/testing/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ChecksumMismatchError,
  createObjectStore,
  SwiftObjectStore,
  type ObjectStore,
} from './index';
import { storeBehaviour } from '../test/store-behaviour';
import { startSwift, type SwiftServer } from './testing/swift-server';

/**
 * The same behaviour from both stores: a local directory, and a real Swift started on
 * loopback for this file (proxy, account, container, object servers, memcached).
 */

const testDir = process.env.COFFER_TEST_DATA_DIR ?? tmpdir();
let swift: SwiftServer;
let localRoot: string;
const stores: Array<{ name: string; store: () => ObjectStore }> = [];

beforeAll(async () => {
  localRoot = mkdtempSync(join(tmpdir(), 'coffer-objectstore-'));
  swift = await startSwift({ parentDir: testDir, portRange: testPorts().spare });
}, 120_000);

afterAll(async () => {
  for (const { store } of stores) await store().close();
  await swift?.stop();
  rmSync(localRoot, { recursive: true, force: true });
  // Every Swift server and memcached stopped, by pid.
  for (const pid of swift?.pids ?? []) expect(isRunning(pid)).toBe(false);
});

/** True while `pid` runs: a zombie (ended, not reaped: init here does not reap orphans) does not. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

let local: ObjectStore;
let remote: ObjectStore;
stores.push({ name: 'local', store: () => local }, { name: 'swift', store: () => remote });

beforeAll(() => {
  local = createObjectStore({ kind: 'local', root: localRoot });
  remote = createObjectStore(swift.storeConfig(`test-${randomBytes(3).toString('hex')}`));
});

describe.each(stores)('the $name store', ({ store }) => storeBehaviour(store));

describe('the local store', () => {
  it('never shows a half-written object, and removes leftovers with their prefix', async () => {
    const dir = join(localRoot, 'backups', 'q', 'b1');
    await local.put('backups/q/b1/chunk-000000', Buffer.from('whole'));
    // What an interrupted write leaves behind.
    writeFileSync(join(dir, 'chunk-000001.abcdef.tmp'), 'half');
    expect((await local.list('backups/q/b1/')).map((object) => object.name)).toEqual([
      'backups/q/b1/chunk-000000',
    ]);
    expect(await local.deletePrefix('backups/q/b1/')).toBe(1);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(localRoot, 'backups', 'q'))).toBe(false);
  });

  it("reads an object into a caller's buffer (a new one when it is larger), and says which object is missing", async () => {
    const body = randomBytes(300_000);
    await local.put('into/a', body);
    const target = Buffer.alloc(400_000, 7);
    const got = await local.getInto!('into/a', target);
    expect(got.buffer).toBe(target.buffer);
    expect(got.byteOffset).toBe(target.byteOffset);
    expect(got.equals(body)).toBe(true);
    expect(target[300_000]).toBe(7); // nothing written past the object

    const small = Buffer.alloc(1000);
    const larger = await local.getInto!('into/a', small);
    expect(larger.buffer).not.toBe(small.buffer);
    expect(larger.equals(body)).toBe(true);

    await expect(local.getInto!('into/none', target)).rejects.toMatchObject({
      name: 'ObjectNotFoundError',
      objectName: 'into/none',
    });
    await local.deletePrefix('into/');
  });
});

describe('the swift store', () => {
  it('checks the MD5 of what it stores: a body damaged on the way is refused (422)', async () => {
    const store = new SwiftObjectStore(swift.storeConfig('md5-check'));
    // Send an ETag that does not match the body, as a body damaged in transit would.
    const damaged = store as unknown as {
      request: (...args: unknown[]) => Promise<{ status: number }>;
    };
    await store.put('probe', Buffer.from('ok'));
    const response = await damaged.request('PUT', '/md5-check/damaged', {
      headers: { ETag: '0'.repeat(32) },
      body: Buffer.from('payload'),
    });
    expect(response.status).toBe(422);
    expect(await store.list('damaged')).toEqual([]);
    await store.close();
    expect(new ChecksumMismatchError('x', 'a', 'b').message).toMatch(/expected a/);
  });

  it('gets a new token when its token is no longer valid', async () => {
    const store = new SwiftObjectStore(swift.storeConfig('tokens'));
    await store.put('one', Buffer.from('1'));
    // Replace the kept session's token with one the proxy never issued: the next request gets 401, re-authenticates and succeeds.
    const internals = store as unknown as { session: Promise<{ token: string; storageUrl: URL }> };
    const session = await internals.session;
    internals.session = Promise.resolve({
      ...session,
      token: 'AUTH_tk00000000000000000000000000000000',
    });
    expect((await store.get('one')).toString()).toBe('1');
    expect((await internals.session).token).not.toBe('AUTH_tk00000000000000000000000000000000');
    await store.deletePrefix('');
    await store.close();
  });

  it('says so when the credentials are wrong', async () => {
    const store = new SwiftObjectStore({ ...swift.storeConfig('nope'), key: 'wrong' });
    await expect(store.put('x', Buffer.from('x'))).rejects.toThrow(
      /refused the credentials of test:tester/,
    );
    await store.close();
  });

  it('writes a Static Large Object: one object of the segments, byte for byte, nested above the limit', async () => {
    // A limit of 2 segments per manifest: 5 segments make 3 parts, then 2, then the top one.
    const store = new SwiftObjectStore(swift.storeConfig('slo'), { maxManifestSegments: 2 });
    const bodies = [1000, 2000, 7, 1, 4096].map((size) => randomBytes(size));
    const segments = await Promise.all(
      bodies.map(async (body, index) => {
        const name = `b/chunk-${index}`;
        const { etag } = await store.put(name, body);
        return { name, etag: etag!, size: body.length };
      }),
    );
    const whole = Buffer.concat(bodies);
    const internals = store as unknown as {
      request: (method: string, path: string) => Promise<{ status: number; headers: object }>;
    };
    for (const [name, count, expected] of [
      ['b/two.slo', 2, 1],
      ['b/all.slo', 5, 6],
    ] as const) {
      const written = await store.putSegmentManifest(name, segments.slice(0, count));
      const size = bodies.slice(0, count).reduce((sum, body) => sum + body.length, 0);
      expect(written).toEqual({ size, manifests: expected });
      const head = await internals.request('HEAD', `/slo/${name}`);
      expect(head.status).toBe(200);
      expect(head.headers).toMatchObject({
        'content-length': String(size),
        'x-static-large-object': 'True',
      });
    }
    expect((await store.get('b/all.slo')).equals(whole)).toBe(true);
    expect((await store.get('b/two.slo')).equals(whole.subarray(0, 3000))).toBe(true);
    // A segment that is not what the manifest says is refused, naming it.
    await expect(
      store.putSegmentManifest('b/bad.slo', [{ ...segments[0]!, etag: '0'.repeat(32) }]),
    ).rejects.toThrow(/HTTP 400.*chunk-0/s);
    // A plain DELETE of the manifest leaves its segments.
    expect(await store.delete('b/two.slo')).toBe(true);
    expect((await store.get('b/chunk-1')).equals(bodies[1]!)).toBe(true);
    expect(await store.deletePrefix('b/')).toBe(5 + 1 + 5);
    expect(await store.list('')).toEqual([]);
    await store.close();
  });

  it('pages through a listing longer than one page', async () => {
    const store = new SwiftObjectStore(swift.storeConfig('paging'), { listingPageSize: 10 });
    const names = Array.from(
      { length: 25 },
      (_, index) => `many/${String(index).padStart(5, '0')}`,
    );
    const queue = [...names];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let name = queue.shift(); name; name = queue.shift())
          await store.put(name, Buffer.from(name));
      }),
    );
    const listed = await store.list('many/');
    expect(listed.map((object) => object.name)).toEqual(names);
    expect(await store.deletePrefix('many/')).toBe(25);
    await store.close();
  });
});
