import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { waitFor } from '@coffer/host';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { cleanUp, FAKE_GUEST, specFor, testPortRange, volumeTestBaseDir } from '../../test/fixture';
import { LocalComputeProvider } from './local-provider';
import { isMountPoint, LocalVolumes, loopUnavailableReason, makeExt4Image } from './volume';
import { isImageOf, parseVolumePoolSpec, VOLUME_POOL_DIR, VolumePool } from './volume-pool';

const baseDir = volumeTestBaseDir();
const canLoop = loopUnavailableReason() === null;
const GIB = 1024 ** 3;

function newDir(): string {
  const dir = join(baseDir, randomBytes(4).toString('hex'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function instanceDirs(parent: string) {
  const root = join(parent, randomBytes(4).toString('hex'));
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  return { root, data };
}

const inode = (path: string) => statSync(path).ino;
const readyCount = (pool: VolumePool, gb: number) => pool.ready().get(gb)?.length ?? 0;

describe('parseVolumePoolSpec (COFFER_LOCAL_VOLUME_POOL)', () => {
  it('reads <GB>:<count> pairs, off, and the default', () => {
    expect([...parseVolumePoolSpec('1:3, 10:1')]).toEqual([
      [1, 3],
      [10, 1],
    ]);
    expect(parseVolumePoolSpec('off').size).toBe(0);
    expect(parseVolumePoolSpec('0').size).toBe(0);
    expect(parseVolumePoolSpec('1:0').size).toBe(0);
    expect([...parseVolumePoolSpec(undefined)]).toEqual([
      [1, 8],
      [2, 2],
      [5, 2],
      [10, 2],
    ]);
    for (const wrong of ['1', '0:2', '1:2,1:3', 'a:b', '1:65', '-1:2']) {
      expect(() => parseVolumePoolSpec(wrong)).toThrowError(
        expect.objectContaining({ code: 'UNAVAILABLE' }),
      );
    }
  });
});

describe.runIf(canLoop)('VolumePool', () => {
  it('fills in the background; a create takes a ready image (no mkfs) and the pool is refilled', async () => {
    const dir = newDir();
    const poolDir = join(dir, VOLUME_POOL_DIR);
    const volumes = new LocalVolumes('loop', undefined, {
      pool: { dir: poolDir, spec: new Map([[1, 2]]), startDelayMs: 0 },
    });
    const pool = volumes.pool!;
    expect(await waitFor(() => readyCount(pool, 1) === 2, { timeoutMs: 30_000 })).toBe(true);
    await pool.settled();
    const readyInodes = pool.ready().get(1)!.map(inode);

    const { root, data } = instanceDirs(dir);
    await volumes.create(root, data, 1);
    const image = volumes.imageOf(root);
    // One of the ready images, moved: the same file, mounted.
    expect(readyInodes).toContain(inode(image));
    expect(isImageOf(image, 1)).toBe(true);
    expect(isMountPoint(data)).toBe(true);
    expect(statSync(image).size).toBe(GIB);

    // Refilled to 2, none of them the one given away.
    expect(await waitFor(() => readyCount(pool, 1) === 2, { timeoutMs: 30_000 })).toBe(true);
    await pool.settled();
    expect(pool.ready().get(1)!.map(inode)).not.toContain(inode(image));

    // A size the pool does not keep is made on demand; the pool makes none of it.
    const other = instanceDirs(dir);
    await volumes.create(other.root, other.data, 2);
    expect(isImageOf(volumes.imageOf(other.root), 2)).toBe(true);
    await pool.settled();
    expect(readyCount(pool, 2)).toBe(0);
    expect(readdirSync(poolDir).filter((name) => name.endsWith('.new'))).toEqual([]);

    pool.stop();
    await volumes.remove(root, data);
    await volumes.remove(other.root, other.data);
  });

  it('refills only while no create is making or mounting a volume', async () => {
    const dir = newDir();
    let release!: () => void;
    let busy = true;
    const idle = new Promise<void>((resolveIdle) => (release = resolveIdle));
    const made: string[] = [];
    const pool = new VolumePool({
      dir: join(dir, VOLUME_POOL_DIR),
      spec: new Map([[1, 1]]),
      startDelayMs: 0,
      makeImage: async (path, gb, options) => {
        expect(busy).toBe(false);
        expect(options.background).toBe(true);
        made.push(path);
        await makeExt4Image(path, gb, options);
      },
      whenIdle: () => idle,
    });
    await new Promise((tick) => setTimeout(tick, 200));
    expect(made).toEqual([]);
    busy = false;
    release();
    expect(await waitFor(() => readyCount(pool, 1) === 1, { timeoutMs: 30_000 })).toBe(true);
    await pool.settled();
    expect(made).toHaveLength(1);
    pool.stop();
  });

  it('at start, reclaims what a crash left and reuses the good images', async () => {
    const dir = newDir();
    const poolDir = join(dir, VOLUME_POOL_DIR);
    mkdirSync(poolDir);
    const good = async (name: string, gb = 1) => {
      await makeExt4Image(join(poolDir, name), gb, { background: false });
      return join(poolDir, name);
    };
    // Three good 1 GiB images (one more than kept), one of a size no longer kept.
    const kept = [
      await good('1g-0000000000000001.img'),
      await good('1g-0000000000000002.img'),
      await good('1g-0000000000000003.img'),
    ];
    await good('2g-0000000000000004.img', 2);
    // An image cut short (a crash before its rename would never leave it; a copied-in file might).
    writeFileSync(join(poolDir, '1g-0000000000000000.img'), Buffer.alloc(4096));
    // A partial image of a worker that died, and one of a worker still making it.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(poolDir, `1g-00000000000000aa.${dead}.new`), '');
    const living = spawn('sleep', ['30'], { stdio: 'ignore' });
    const busyPartial = `1g-00000000000000bb.${living.pid}.new`;
    writeFileSync(join(poolDir, busyPartial), '');
    // Not the pool's: left alone.
    writeFileSync(join(poolDir, 'README'), 'an operator note');
    try {
      const pool = new VolumePool({
        dir: poolDir,
        spec: new Map([[1, 2]]),
        startDelayMs: 60_000,
        makeImage: () => Promise.reject(new Error('no image is made in this test')),
        whenIdle: () => Promise.resolve(),
      });
      pool.stop();
      expect(readdirSync(poolDir).sort()).toEqual(
        [
          ...kept.slice(0, 2).map((path) => path.slice(poolDir.length + 1)),
          busyPartial,
          'README',
        ].sort(),
      );
      // The kept images serve creates.
      const { root } = instanceDirs(dir);
      expect(pool.take(1, join(root, 'volume.img'))).toBe(true);
      expect(isImageOf(join(root, 'volume.img'), 1)).toBe(true);
    } finally {
      living.kill('SIGKILL');
    }
  });

  it('never gives one image to two creates, even of two workers on one data dir', async () => {
    const dir = newDir();
    const poolDir = join(dir, VOLUME_POOL_DIR);
    mkdirSync(poolDir);
    for (const n of [1, 2, 3]) {
      await makeExt4Image(join(poolDir, `1g-000000000000000${n}.img`), 1, { background: false });
    }
    const options = {
      dir: poolDir,
      spec: new Map([[1, 3]]),
      startDelayMs: 60_000,
      makeImage: () => Promise.reject(new Error('no refill in this test')),
      whenIdle: () => Promise.resolve(),
    };
    const first = new VolumePool(options);
    const second = new VolumePool(options);
    first.stop();
    second.stop();
    const originals = new Set(first.ready().get(1)!.map(inode));
    // The second worker listed the pool before the first took from it.
    vi.spyOn(second, 'ready').mockReturnValue(first.ready());

    const dests = Array.from({ length: 6 }, () => join(instanceDirs(dir).root, 'volume.img'));
    const outcomes = dests.map((dest, index) => (index % 2 ? second : first).take(1, dest));
    const taken = dests.filter((_, index) => outcomes[index]);
    expect(taken).toHaveLength(3);
    expect(new Set(taken.map(inode))).toEqual(originals);
    expect(dests.filter((_, index) => !outcomes[index]).every((dest) => !existsSync(dest))).toBe(
      true,
    );
    expect(first.ready().size).toBe(0);
  });
});

describe.runIf(canLoop)('LocalComputeProvider with a volume pool', () => {
  const dir = join(baseDir, 'provider');
  // A worker's data dir exists (the pool waits for it otherwise).
  mkdirSync(dir, { recursive: true });
  const provider = new LocalComputeProvider({
    dataDir: dir,
    guestCommand: { command: process.execPath, args: [FAKE_GUEST] },
    portRange: testPortRange(),
    stopTimeoutMs: 2000,
    volumes: 'loop',
    volumePool: new Map([[1, 2]]),
    volumePoolStartDelayMs: 0,
  });
  const poolDir = join(dir, VOLUME_POOL_DIR);
  const ready = () =>
    existsSync(poolDir) ? readdirSync(poolDir).filter((name) => name.endsWith('.img')) : [];
  afterAll(() => cleanUp([provider], dir));

  it('creates at once get distinct volumes, the pool refills, and deletes leave only the pool', async () => {
    expect(await waitFor(() => ready().length === 2, { timeoutMs: 30_000 })).toBe(true);
    const specs = [specFor(), specFor(), specFor(), specFor()];
    await Promise.all(specs.map((spec) => provider.createServer(spec)));
    const images = specs.map((spec) => join(provider.instanceDir(spec.instanceId), 'volume.img'));
    expect(new Set(images.map(inode)).size).toBe(4);
    for (const spec of specs) {
      expect(isMountPoint(join(provider.instanceDir(spec.instanceId), 'data'))).toBe(true);
    }
    expect(await waitFor(() => ready().length === 2, { timeoutMs: 30_000 })).toBe(true);
    expect(ready().map((name) => inode(join(poolDir, name)))).not.toEqual(
      expect.arrayContaining(images.map(inode)),
    );

    // A create that died after taking its image: the retried create mounts that image.
    const crashed = specFor();
    const root = provider.instanceDir(crashed.instanceId);
    mkdirSync(join(root, 'data'), { recursive: true });
    const [first] = ready();
    const takenInode = inode(join(poolDir, first!));
    expect(new VolumePoolProbe(poolDir).takeInto(join(root, 'volume.img'))).toBe(true);
    await provider.createServer(crashed);
    expect(inode(join(root, 'volume.img'))).toBe(takenInode);
    expect(isMountPoint(join(root, 'data'))).toBe(true);

    for (const spec of [...specs, crashed]) await provider.deleteServer(spec.instanceId);
    expect(readdirSync(join(dir, 'instances'))).toEqual([]);
    for (const image of images) expect(existsSync(image)).toBe(false);
  });
});

/** A second worker's pool on the same directory, taking one image by hand. */
class VolumePoolProbe {
  private readonly pool: VolumePool;
  constructor(dir: string) {
    this.pool = new VolumePool({
      dir,
      spec: new Map([[1, 2]]),
      startDelayMs: 60_000,
      makeImage: () => Promise.reject(new Error('not here')),
      whenIdle: () => Promise.resolve(),
    });
    this.pool.stop();
  }
  takeInto(dest: string): boolean {
    return this.pool.take(1, dest);
  }
}
