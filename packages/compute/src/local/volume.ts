import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { localComputeEnv } from '../env';
import { ComputeError, silentLogger, type ComputeLogger } from '../provider';
import { parseVolumePoolSpec, VolumePool, type VolumePoolSpec } from './volume-pool';

/**
 * The local provider's volumes (Cinder's part): each instance's `data/` is a filesystem of the
 * size asked for, so no tenant can fill the host's disk.
 *
 * ```
 * <instance>/volume.img   a sparse file of volumeGb GiB holding an ext4 filesystem
 * <instance>/data/        where it is loop-mounted (mount -o loop: the loop device is freed on umount),
 *                         the device then switched to direct I/O (no second copy in the page cache)
 * ```
 *
 * - `loop` (the default where it works: root, /dev/loop-control, mkfs.ext4 on PATH): created in
 *   about 50 ms and ~1 MB of host disk (lazy inode table and journal init, no reserved blocks);
 *   the host's disk only holds what the tenant wrote, never more than the volume's size.
 * - `directory` (COFFER_LOCAL_VOLUMES=directory, or `auto` on a host that cannot loop-mount,
 *   logged once): `data/` is a plain directory on the host's filesystem, as before issue 13;
 *   its size is recorded but not enforced.
 *
 * Growing: the image is made larger (truncate), the loop device re-reads its size (losetup -c)
 * and `resize2fs` grows the mounted filesystem online. Online growth of ext4 needs
 * CAP_SYS_RESOURCE, which containers often lack; then the guest is stopped for the time of an
 * offline `e2fsck -f` + `resize2fs` (a second or two) and started again.
 */

const run = promisify(execFile);

export type VolumeMode = 'loop' | 'directory';
export type VolumeSetting = VolumeMode | 'auto';
export const VOLUME_IMAGE_FILE = 'volume.img';
/** Written before an image grows and removed once its filesystem fills it: a retried grow finishes the resize. */
const GROWING_MARKER = 'volume.growing';
const GIB = 1024 ** 3;

export interface VolumeUsage {
  usedBytes: number;
  totalBytes: number;
}

/** What the provider does for a grow that cannot be online: stop the guest, run `work`, start it again if it ran. */
export type WhileGuestStopped = (work: () => Promise<void>) => Promise<void>;

/** COFFER_LOCAL_VOLUMES (env.ts); a wrong value is `UNAVAILABLE`: the worker refuses to start. */
/** COFFER_LOCAL_VOLUME_POOL (env.ts; volume-pool.ts): the ready images kept per size; a wrong value is `UNAVAILABLE`. */
export function volumePoolFromEnv(env?: NodeJS.ProcessEnv): VolumePoolSpec {
  return parseVolumePoolSpec(localComputeEnv(env).COFFER_LOCAL_VOLUME_POOL);
}

export function volumeSettingFromEnv(env?: NodeJS.ProcessEnv): VolumeSetting {
  try {
    return localComputeEnv(env).COFFER_LOCAL_VOLUMES;
  } catch (error) {
    throw new ComputeError('UNAVAILABLE', 'COFFER_LOCAL_VOLUMES must be loop, directory or auto', {
      cause: error,
    });
  }
}

/** Why this host cannot loop-mount volumes, or null when it can. */
export function loopUnavailableReason(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'the worker does not run as root (mount -o loop needs it)';
  if (!existsSync('/dev/loop-control')) return 'the host has no /dev/loop-control';
  for (const tool of ['mkfs.ext4', 'resize2fs', 'e2fsck', 'losetup', 'mount', 'umount']) {
    if (!onPath(tool)) return `${tool} is not installed`;
  }
  return null;
}

const PATH_DIRS = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function onPath(tool: string): boolean {
  const dirs = PATH_DIRS.split(':');
  return dirs.some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function sh(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      // A typed cast: some consumers' global types (Next's) make NODE_ENV required in ProcessEnv.
      env: { PATH: PATH_DIRS, LC_ALL: 'C' } as unknown as NodeJS.ProcessEnv,
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    const detail = (failed.stderr ?? '').trim() || failed.message;
    throw new VolumeCommandError(`${command} ${args.join(' ')}: ${detail}`, { cause: error });
  }
}

class VolumeCommandError extends Error {}

/** The capability online ext4 growth needs (EXT4_IOC_RESIZE_FS checks it). */
const CAP_SYS_RESOURCE = 24;

/** Whether this process holds a capability (its effective set, /proc/self/status); true when that cannot be read. */
export function hasCapability(capability: number): boolean {
  try {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!line) return true;
    return ((BigInt(`0x${line[1]}`) >> BigInt(capability)) & 1n) === 1n;
  } catch {
    return true;
  }
}

/** `/proc/mounts` escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** The mount points of this machine, each with its source device. */
export function currentMounts(): { source: string; target: string }[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source = '', target = ''] = line.split(' ');
      return { source: unescapeMountPath(source), target: unescapeMountPath(target) };
    });
}

/** The loop device mounted on `dir`, or null when `dir` holds no loop mount. */
export function loopDeviceMountedOn(dir: string): string | null {
  const target = resolve(dir);
  const device = currentMounts().find((mount) => mount.target === target)?.source;
  return device?.startsWith('/dev/loop') ? device : null;
}

export function isMountPoint(dir: string): boolean {
  const target = resolve(dir);
  return currentMounts().some((mount) => mount.target === target);
}

/** The loop devices whose backing file is `image` (`losetup -j`). */
export async function loopDevicesOf(image: string): Promise<string[]> {
  if (!existsSync('/dev/loop-control')) return [];
  const out = await sh('losetup', ['-j', resolve(image)]).catch(() => '');
  return out
    .split('\n')
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter((device) => device.startsWith('/dev/'));
}

/** Waits until no loop device is attached to `image` (at most 10 s). */
async function untilDetached(image: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await loopDevicesOf(image)).length > 0) {
    if (Date.now() > deadline)
      throw new ComputeError('UNAVAILABLE', `a loop device is still attached to ${image}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}

/** Used and total bytes of the filesystem holding `dir` (as `df` counts them). */
export async function filesystemUsage(dir: string): Promise<VolumeUsage> {
  const stats = await statfs(dir);
  return {
    totalBytes: stats.blocks * stats.bsize,
    usedBytes: (stats.blocks - stats.bfree) * stats.bsize,
  };
}

export interface LocalVolumesOptions {
  /** A warm pool of ready images (volume-pool.ts) in this directory, of these sizes; loop mode only. */
  pool?: { dir: string; spec: VolumePoolSpec; startDelayMs?: number };
}

export class LocalVolumes {
  readonly mode: VolumeMode;
  /** Ready images of the common sizes, or null (directory mode, or no sizes kept). */
  readonly pool: VolumePool | null;
  private readonly logger: ComputeLogger;
  /** Creates of this process making or mounting a volume now: the pool refills only when none is. */
  private creating = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    setting: VolumeSetting = 'auto',
    logger: ComputeLogger = silentLogger,
    options: LocalVolumesOptions = {},
  ) {
    this.logger = logger;
    const reason = setting === 'directory' ? null : loopUnavailableReason();
    if (setting === 'loop' && reason) {
      throw new ComputeError(
        'UNAVAILABLE',
        `COFFER_LOCAL_VOLUMES=loop but ${reason}; set it to directory (sizes then are not enforced)`,
      );
    }
    this.mode = setting === 'directory' || reason ? 'directory' : 'loop';
    if (setting === 'auto' && reason) {
      logger.warn(
        { reason },
        `instance volumes are plain directories: ${reason}, so a volume's size is not enforced (COFFER_LOCAL_VOLUMES)`,
      );
    }
    this.pool =
      this.mode === 'loop' && options.pool && options.pool.spec.size > 0
        ? new VolumePool({
            dir: options.pool.dir,
            spec: options.pool.spec,
            startDelayMs: options.pool.startDelayMs,
            makeImage: makeExt4Image,
            whenIdle: () => this.whenIdle(),
            logger,
          })
        : null;
  }

  imageOf(root: string): string {
    return join(root, VOLUME_IMAGE_FILE);
  }

  /**
   * Makes the instance's volume and mounts it on `dataDir`, which must exist: a ready image of
   * the size from the pool when there is one (volume-pool.ts), else a new image file and its
   * filesystem. Idempotent: an existing image is kept and only mounted.
   */
  async create(root: string, dataDir: string, volumeGb: number): Promise<void> {
    if (this.mode !== 'loop') return;
    this.creating += 1;
    try {
      const image = this.imageOf(root);
      if (!existsSync(image)) {
        const started = Date.now();
        if (this.pool?.take(volumeGb, image)) {
          this.logger.info(
            { image, volumeGb, ms: Date.now() - started },
            'volume image taken from the pool',
          );
        } else {
          const partial = `${image}.new`;
          try {
            await makeExt4Image(partial, volumeGb, { background: false });
            await sh('mv', ['-f', partial, image]);
          } catch (error) {
            rmSync(partial, { force: true });
            throw new ComputeError('UNAVAILABLE', `could not make the volume: ${message(error)}`, {
              cause: error,
            });
          }
          this.logger.info(
            { image, volumeGb, ms: Date.now() - started, pool: this.pool ? 'none ready' : 'off' },
            'volume image made (ext4, sparse)',
          );
        }
      }
      await this.ensureMounted(root, dataDir);
    } finally {
      this.creating -= 1;
      if (this.creating === 0) for (const resolveIdle of this.idleWaiters.splice(0)) resolveIdle();
    }
  }

  /** Resolves once no `create` of this process is making or mounting a volume. */
  whenIdle(): Promise<void> {
    if (this.creating === 0) return Promise.resolve();
    return new Promise((resolveIdle) => this.idleWaiters.push(resolveIdle));
  }

  /**
   * Mounts the instance's image on `dataDir` unless it is already (a worker restart, a host
   * reboot). Without an image (directory mode, or a server made before volumes) nothing
   * happens. A failed mount is `UNAVAILABLE`: the guest must not start on the empty directory.
   */
  async ensureMounted(root: string, dataDir: string): Promise<void> {
    const image = this.imageOf(root);
    if (!existsSync(image) || isMountPoint(dataDir)) return;
    if (this.mode !== 'loop') {
      throw new ComputeError(
        'UNAVAILABLE',
        `the instance has a volume image (${image}) but volumes are directories on this worker (COFFER_LOCAL_VOLUMES)`,
      );
    }
    try {
      await sh('mount', ['-o', 'loop,noatime', image, dataDir]);
    } catch (error) {
      throw new ComputeError('UNAVAILABLE', `could not mount the volume: ${message(error)}`, {
        cause: error,
      });
    }
    const directIo = await this.useDirectIo(dataDir);
    this.logger.info({ image, dataDir, directIo }, 'volume mounted');
  }

  /**
   * Switches the loop device under `dataDir` to direct I/O (`losetup --direct-io=on`, which a
   * device in use accepts): its writes then go straight to the image instead of through a
   * second copy in the host's page cache, which made writes through the volume slower than to
   * the host's disk (a replica's unpacked snapshot, a restore, the server's own flushes; the
   * compute README has the figures). A kernel or backing filesystem that refuses it keeps
   * buffered I/O: slower, as correct.
   */
  private async useDirectIo(dataDir: string): Promise<boolean> {
    const device = loopDeviceMountedOn(dataDir);
    if (!device) return false;
    try {
      await sh('losetup', ['--direct-io=on', device]);
      return true;
    } catch (error) {
      this.logger.warn(
        { dataDir, err: message(error) },
        'volume: the loop device keeps buffered I/O (direct I/O refused)',
      );
      return false;
    }
  }

  /**
   * Grows the volume to `volumeGb` GiB (never shrinks; the same size again is a no-op, except
   * that a grow interrupted between the image and the filesystem is finished). Online when the
   * host allows it, else during a short stop of the guest (`whileGuestStopped`).
   */
  async grow(
    root: string,
    dataDir: string,
    volumeGb: number,
    whileGuestStopped: WhileGuestStopped,
  ): Promise<'online' | 'offline' | 'unchanged'> {
    const image = this.imageOf(root);
    if (this.mode !== 'loop' || !existsSync(image)) return 'unchanged';
    const marker = join(root, GROWING_MARKER);
    const target = volumeGb * GIB;
    const current = statSync(image).size;
    if (current >= target && !existsSync(marker)) return 'unchanged';
    const started = Date.now();
    if (current < target) {
      await sh('touch', [marker]);
      const handle = await open(image, 'r+');
      try {
        await handle.truncate(target);
      } finally {
        await handle.close();
      }
    }
    let how: 'online' | 'offline' = 'online';
    try {
      // Without the capability the kernel refuses at once; trying costs a few hundred ms.
      if (!hasCapability(CAP_SYS_RESOURCE))
        throw new VolumeCommandError('the worker lacks CAP_SYS_RESOURCE (online ext4 resize)');
      await this.ensureMounted(root, dataDir);
      // The device mounted on the datadir: `losetup -j` may also list one that a remount left
      // behind and the kernel has not cleared yet, and resizing that one grows nothing.
      const device = loopDeviceMountedOn(dataDir);
      if (!device) throw new VolumeCommandError('the volume has no loop device mounted');
      await sh('losetup', ['-c', device]);
      await sh('resize2fs', [device]);
      // resize2fs exits 0 with "Nothing to do" when it read the device's old size: a grow is
      // done only once the mounted filesystem has about the new size (ext4 keeps ~2 % for
      // itself), else it is done offline, below.
      const { totalBytes } = await filesystemUsage(dataDir);
      if (totalBytes < 0.9 * target)
        throw new VolumeCommandError(
          `the filesystem did not grow online (${totalBytes} bytes after resize2fs)`,
        );
    } catch (error) {
      this.logger.warn(
        { image, err: message(error) },
        'the volume cannot grow online here: growing it offline, what uses it stopped',
      );
      how = 'offline';
      await whileGuestStopped(async () => {
        await this.unmount(root, dataDir, { lazy: false });
        // The kernel frees a detached loop device once its last user is gone: until then the
        // image is not the tools' alone, and a mount could take that device, old size and all.
        await untilDetached(image);
        // e2fsck exits 1 when it fixed something: only 4 and above are failures.
        await sh('e2fsck', ['-f', '-p', image]).catch((fsck: unknown) => {
          const code = ((fsck as Error).cause as { code?: number } | undefined)?.code;
          if (typeof code !== 'number' || code >= 4) throw fsck;
        });
        await sh('resize2fs', [image]);
        // On disk before the loop device, which reads it with direct I/O, mounts it.
        const handle = await open(image, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await this.ensureMounted(root, dataDir);
      });
      // Never "grown" on the word of the tools alone: the marker stays, so the next grow
      // finishes the job.
      const { totalBytes } = await filesystemUsage(dataDir);
      if (totalBytes < 0.9 * target)
        throw new ComputeError(
          'UNAVAILABLE',
          `the volume's filesystem did not grow to ${volumeGb} GiB (${totalBytes} bytes)`,
        );
    }
    rmSync(marker, { force: true });
    this.logger.info({ image, volumeGb, how, ms: Date.now() - started }, 'volume grown');
    return how;
  }

  /**
   * Unmounts the volume and removes its image: no mount, no loop device left. A mount still
   * busy (a process not yet gone) is detached lazily; the kernel frees it with its last user.
   */
  async remove(root: string, dataDir: string): Promise<void> {
    const image = this.imageOf(root);
    await this.unmount(root, dataDir, { lazy: true });
    rmSync(image, { force: true });
    rmSync(`${image}.new`, { force: true });
    rmSync(join(root, GROWING_MARKER), { force: true });
  }

  private async unmount(root: string, dataDir: string, options: { lazy: boolean }): Promise<void> {
    const image = this.imageOf(root);
    while (isMountPoint(dataDir)) {
      try {
        await sh('umount', [dataDir]);
      } catch (error) {
        if (!options.lazy) {
          throw new ComputeError('UNAVAILABLE', `could not unmount the volume: ${message(error)}`, {
            cause: error,
          });
        }
        this.logger.warn({ dataDir, err: message(error) }, 'volume busy: unmounted lazily');
        await sh('umount', ['-l', dataDir]);
      }
    }
    for (const device of await loopDevicesOf(image)) {
      await sh('losetup', ['-d', device]).catch((error: unknown) =>
        this.logger.warn({ device, err: message(error) }, 'could not detach a loop device'),
      );
    }
  }
}

/**
 * A sparse file of `gb` GiB at `path` holding a new ext4 filesystem: no reserved blocks, lazy
 * inode-table and journal initialisation (the journal is there, and used: only its zeroing is
 * left to the kernel), no discard. `background`: at the lowest CPU priority (the pool's refills).
 */
export async function makeExt4Image(
  path: string,
  gb: number,
  options: { background: boolean },
): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.truncate(gb * GIB);
  } finally {
    await handle.close();
  }
  const mkfs = [
    'mkfs.ext4',
    '-q',
    '-F',
    '-m',
    '0',
    '-E',
    'lazy_itable_init=1,lazy_journal_init=1,nodiscard',
    path,
  ];
  if (options.background) await sh('nice', ['-n', '19', ...mkfs]);
  else await sh(mkfs[0]!, mkfs.slice(1));
}

/**
 * Unmounts every volume mounted under `dir` (lazily) and detaches its loop device: for tests
 * and tools that remove a whole data directory without deleting each server first.
 */
export async function unmountVolumesUnder(dir: string): Promise<number> {
  const base = `${resolve(dir)}/`;
  const mounts = currentMounts().filter((mount) => mount.target.startsWith(base));
  for (const mount of mounts.reverse()) {
    await sh('umount', ['-l', mount.target]).catch(() => undefined);
    if (mount.source.startsWith('/dev/loop'))
      await sh('losetup', ['-d', mount.source]).catch(() => undefined);
  }
  return mounts.length;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
