import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cleanUp, FAKE_GUEST, specFor, testPortRange, volumeTestBaseDir } from '../../test/fixture';
import { LocalComputeProvider } from './local-provider';
import {
  filesystemUsage,
  isMountPoint,
  LocalVolumes,
  loopDevicesOf,
  loopUnavailableReason,
} from './volume';

const baseDir = volumeTestBaseDir();
const canLoop = loopUnavailableReason() === null;
const GIB = 1024 ** 3;

function mountedUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(dir));
}

/** Whether a loop device does direct I/O on its backing file (sysfs). */
function directIoOf(device: string): boolean {
  const name = device.replace('/dev/', '');
  return readFileSync(`/sys/block/${name}/loop/dio`, 'utf8').trim() === '1';
}

function instanceDirs() {
  const root = join(baseDir, randomBytes(4).toString('hex'));
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  return { root, data };
}

const noStop = async (work: () => Promise<void>) => work();

describe.runIf(canLoop)('LocalVolumes (loop)', () => {
  it('makes a sparse ext4 image of the size, mounts it, grows it, and removal leaves nothing', async () => {
    const volumes = new LocalVolumes('loop');
    expect(volumes.mode).toBe('loop');
    const { root, data } = instanceDirs();

    const started = Date.now();
    await volumes.create(root, data, 1);
    const createMs = Date.now() - started;
    expect(createMs).toBeLessThan(10_000);
    const image = volumes.imageOf(root);
    expect(statSync(image).size).toBe(GIB);
    // Sparse: a few MB of the host's disk, not a GiB.
    expect(statSync(image).blocks * 512).toBeLessThan(64 * 1024 ** 2);
    expect(isMountPoint(data)).toBe(true);
    const [device] = await loopDevicesOf(image);
    expect(device).toMatch(/^\/dev\/loop\d+$/);
    // Direct I/O: no second copy of the volume's writes in the host's page cache.
    expect(directIoOf(device!)).toBe(true);
    const usage = await filesystemUsage(data);
    expect(usage.totalBytes).toBeGreaterThan(0.9 * GIB);
    expect(usage.totalBytes).toBeLessThanOrEqual(GIB);
    // What it takes from the host is the image's own blocks: the filesystem's metadata, some.
    // (Not the host's free space before and after: suites beside this one write and delete.)
    expect(statSync(image).blocks).toBeGreaterThan(0);

    // Idempotent: again is only "make sure it is mounted"; a lost mount comes back.
    writeFileSync(join(data, 'kept'), 'kept');
    await volumes.create(root, data, 1);
    execFileSync('umount', [data]);
    expect(isMountPoint(data)).toBe(false);
    expect(existsSync(join(data, 'kept'))).toBe(false);
    await volumes.ensureMounted(root, data);
    expect(readFileSync(join(data, 'kept'), 'utf8')).toBe('kept');
    const [remounted] = await loopDevicesOf(image);
    expect(directIoOf(remounted!)).toBe(true);

    // Grows (online, or offline through the callback where the host forbids online resize).
    let stops = 0;
    await volumes.grow(root, data, 2, async (work) => {
      stops += 1;
      await work();
    });
    expect(statSync(image).size).toBe(2 * GIB);
    expect((await filesystemUsage(data)).totalBytes).toBeGreaterThan(1.9 * GIB);
    expect(isMountPoint(data)).toBe(true);
    expect(readFileSync(join(data, 'kept'), 'utf8')).toBe('kept');
    expect(stops).toBeLessThanOrEqual(1);
    // The same size again: nothing happens (no stop).
    await volumes.grow(root, data, 2, async () => {
      throw new Error('a no-op grow must not stop the guest');
    });
    await volumes.grow(root, data, 1, async () => {
      throw new Error('a smaller size must not stop the guest');
    });
    expect(statSync(image).size).toBe(2 * GIB);

    await volumes.remove(root, data);
    expect(isMountPoint(data)).toBe(false);
    expect(mountedUnder(root)).toEqual([]);
    expect(existsSync(image)).toBe(false);
    expect(await loopDevicesOf(image)).toEqual([]);
    // Twice is fine.
    await volumes.remove(root, data);
  });

  it('a full volume refuses writes with ENOSPC and never takes more than its size from the host', async () => {
    const volumes = new LocalVolumes('loop');
    const { root, data } = instanceDirs();
    await volumes.create(root, data, 1);
    let error: NodeJS.ErrnoException | undefined;
    try {
      // Most of it reserved at once (fast), the rest written until the filesystem refuses.
      execFileSync('fallocate', ['-l', '850M', join(data, 'reserved')]);
      execFileSync('dd', ['if=/dev/zero', `of=${join(data, 'fill')}`, 'bs=4M', 'count=100'], {
        stdio: 'pipe',
      });
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    expect(String((error as { stderr?: Buffer } | undefined)?.stderr)).toMatch(
      /No space left on device/,
    );
    // What the instance's directory holds on the host (`du -x`: the image's allocated blocks,
    // not the volume mounted in it), never more than the volume's size and a little; not the
    // host's free space before and after, which moves with whatever else runs beside this.
    const held = Number(
      execFileSync('du', ['-sx', '--block-size=1', root], { encoding: 'utf8' }).split('\t')[0],
    );
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(GIB + 32 * 1024 ** 2);
    const usage = await filesystemUsage(data);
    expect(usage.usedBytes / usage.totalBytes).toBeGreaterThan(0.95);

    await volumes.grow(root, data, 2, noStop);
    const grown = await filesystemUsage(data);
    expect(grown.usedBytes / grown.totalBytes).toBeLessThan(0.6);
    writeFileSync(join(data, 'after'), 'room again');
    await volumes.remove(root, data);
    expect(await loopDevicesOf(volumes.imageOf(root))).toEqual([]);
  }, 180_000);

  it('lazily unmounts a busy volume on removal', async () => {
    const volumes = new LocalVolumes('loop');
    const { root, data } = instanceDirs();
    await volumes.create(root, data, 1);
    const { spawn } = await import('node:child_process');
    const holder = spawn('sleep', ['30'], { cwd: data, stdio: 'ignore' });
    try {
      await volumes.remove(root, data);
      expect(isMountPoint(data)).toBe(false);
      expect(existsSync(volumes.imageOf(root))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('LocalVolumes (directory)', () => {
  it('leaves data/ a plain directory and grows by recording only', async () => {
    const volumes = new LocalVolumes('directory');
    expect(volumes.mode).toBe('directory');
    const { root, data } = instanceDirs();
    await volumes.create(root, data, 1);
    expect(existsSync(volumes.imageOf(root))).toBe(false);
    expect(isMountPoint(data)).toBe(false);
    await volumes.grow(root, data, 2, noStop);
    await volumes.remove(root, data);
  });
});

describe.runIf(canLoop)('LocalComputeProvider with loop volumes', () => {
  const dir = join(baseDir, 'provider');
  const provider = new LocalComputeProvider({
    dataDir: dir,
    guestCommand: { command: process.execPath, args: [FAKE_GUEST] },
    portRange: testPortRange(),
    stopTimeoutMs: 2000,
    volumes: 'loop',
  });
  afterAll(() => cleanUp([provider], dir));

  it('mounts at create, remounts before starting a guest, grows, and deleting leaves nothing', async () => {
    const spec = specFor();
    await provider.createServer(spec);
    const root = provider.instanceDir(spec.instanceId);
    const data = join(root, 'data');
    const image = join(root, 'volume.img');
    expect(isMountPoint(data)).toBe(true);

    // A host reboot: the guest is gone and the image no longer mounted.
    const pid = provider.guestPid(spec.instanceId);
    if (pid) process.kill(pid, 'SIGKILL');
    execFileSync('umount', [data]);
    expect((await provider.ensureServerRunning(spec.instanceId)).state).toBe('restarted');
    expect(isMountPoint(data)).toBe(true);

    await provider.extendVolume(spec.instanceId, 3);
    expect((await provider.getServer(spec.instanceId))?.volumeGb).toBe(3);
    expect((await filesystemUsage(data)).totalBytes).toBeGreaterThan(2.9 * GIB);
    expect(await provider.extendVolume(spec.instanceId, 3)).toBe('unchanged');
    await expect(provider.extendVolume(spec.instanceId, 2)).rejects.toMatchObject({
      code: 'INVALID',
    });
    expect((await provider.getServer(spec.instanceId))?.status).toBe('ACTIVE');

    // With the caller's whileOffline, an offline growth stops only what the caller stops: the
    // guest keeps running (online, the hook is not called at all).
    const guest = provider.guestPid(spec.instanceId);
    let offlineCalls = 0;
    const growth = await provider.extendVolume(spec.instanceId, 4, {
      whileOffline: async (work) => {
        offlineCalls += 1;
        expect(isMountPoint(data)).toBe(true);
        await work();
        expect(isMountPoint(data)).toBe(true);
      },
    });
    expect(['online', 'offline']).toContain(growth);
    expect(offlineCalls).toBe(growth === 'offline' ? 1 : 0);
    expect(provider.guestPid(spec.instanceId)).toBe(guest);
    expect((await filesystemUsage(data)).totalBytes).toBeGreaterThan(3.9 * GIB);
    expect((await provider.getServer(spec.instanceId))?.volumeGb).toBe(4);

    await provider.deleteServer(spec.instanceId);
    expect(mountedUnder(root)).toEqual([]);
    expect(existsSync(image)).toBe(false);
    expect(await loopDevicesOf(image)).toEqual([]);
  });
});
