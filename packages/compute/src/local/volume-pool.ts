import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

import { pidExists } from '@coffer/host';

import { ComputeError, silentLogger, type ComputeLogger } from '../provider';

/**
 * A warm pool of volume images (issue 13's provisioning speed): formatted, unmounted ext4
 * images of the common sizes, made in the background, so that a create only moves one into
 * its instance's directory and mounts it, instead of running `mkfs.ext4` on its way.
 *
 * ```
 * <dataDir>/volume-pool/
 *   <gb>g-<16 hex>.img          a ready image of <gb> GiB: formatted, never mounted, nobody's
 *   <gb>g-<16 hex>.<pid>.new    being made by worker process <pid> (renamed to .img when done)
 * ```
 *
 * - **One owner**: an image leaves the pool by `rename(2)` into the instance's directory as its
 *   `volume.img`. A rename of one path succeeds once, so two creates (of this process or of
 *   another worker on the same data dir) never get the same image; the loser finds the file
 *   gone and tries the next. From then on the image is the instance's (deleteServer removes it).
 * - **Crash-safe**: an image is renamed ready only after `mkfs.ext4` finished (it syncs the
 *   file). At every start (`reconcile`), `.new` files whose process is gone are removed, and
 *   ready images beyond the configured count, or of a size no longer kept, are removed; the
 *   rest are reused. A create that crashed after taking an image left it in its instance's
 *   directory: a retried create mounts it, a delete removes it.
 * - **Background**: images are made one at a time, from a second after the start (the worker's
 *   own start-up first; the directory is made once the data dir exists, looked for every 2 s),
 *   at the lowest CPU priority (`nice 19`), and only while no create of this process is making
 *   or mounting a volume, so refills never compete with the creates they serve. A create
 *   finding no ready image of its size makes one itself, as without a pool.
 * - Sizes not kept are made on demand; a size kept is one `mkfs.ext4` ahead (growing a smaller
 *   image with `resize2fs` costs as much as `mkfs.ext4`: measured 95-105 ms against 35-120 ms).
 */

const GIB = 1024 ** 3;
/** The pool's directory under the provider's data dir. */
export const VOLUME_POOL_DIR = 'volume-pool';
const READY = /^(\d+)g-([0-9a-f]{16})\.img$/;
const PARTIAL = /^(\d+)g-([0-9a-f]{16})\.(\d+)\.new$/;

/** How many ready images to keep of each size (GiB → count). */
export type VolumePoolSpec = ReadonlyMap<number, number>;

/** The default `COFFER_LOCAL_VOLUME_POOL`: the seeded flavors' default volumes, 8 of the smallest (a burst as large as the taskmanager's 8 creates at a time). */
export const DEFAULT_VOLUME_POOL = '1:8,2:2,5:2,10:2';
const MAX_PER_SIZE = 64;
/** How often a pool whose data dir does not exist yet looks again. */
const DATA_DIR_POLL_MS = 2000;
/** Partial images this process is making now (another pool of this process must not take them for a crash's). */
const makingHere = new Set<string>();

/**
 * Parses `COFFER_LOCAL_VOLUME_POOL`: comma-separated `<GB>:<count>` (`1:8,10:2`), or `off` (or
 * `0`) for no pool. A wrong value is `UNAVAILABLE`: the worker refuses to start.
 */
export function parseVolumePoolSpec(value: string | undefined): VolumePoolSpec {
  const text = (value ?? '').trim().toLowerCase() || DEFAULT_VOLUME_POOL;
  const spec = new Map<number, number>();
  if (text === 'off' || text === '0') return spec;
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(part);
    const gb = Number(match?.[1]);
    const count = Number(match?.[2]);
    if (!match || gb < 1 || count > MAX_PER_SIZE || spec.has(gb)) {
      throw new ComputeError(
        'UNAVAILABLE',
        `COFFER_LOCAL_VOLUME_POOL must be off or <GB>:<count> pairs such as ${DEFAULT_VOLUME_POOL} (each size once, at most ${MAX_PER_SIZE} images of a size), not ${JSON.stringify(value)}`,
      );
    }
    if (count > 0) spec.set(gb, count);
  }
  return spec;
}

/** Makes a formatted image of `gb` GiB at `path` (volume.ts's mkfs, at the lowest priority when `background`). */
export type MakeImage = (
  path: string,
  gb: number,
  options: { background: boolean },
) => Promise<void>;

export interface VolumePoolOptions {
  dir: string;
  spec: VolumePoolSpec;
  makeImage: MakeImage;
  /** Resolves once no create of this process is making or mounting a volume. */
  whenIdle: () => Promise<void>;
  logger?: ComputeLogger;
  /** How long after the start the first fill waits (the worker's own start-up first). */
  startDelayMs?: number;
}

export class VolumePool {
  readonly dir: string;
  readonly spec: VolumePoolSpec;
  private readonly makeImage: MakeImage;
  private readonly whenIdle: () => Promise<void>;
  private readonly logger: ComputeLogger;
  private filling: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(options: VolumePoolOptions) {
    this.dir = options.dir;
    this.spec = options.spec;
    this.makeImage = options.makeImage;
    this.whenIdle = options.whenIdle;
    this.logger = options.logger ?? silentLogger;
    this.reconcile();
    const timer = setTimeout(() => this.refill(), options.startDelayMs ?? 1000);
    timer.unref();
  }

  /**
   * What a crash or a changed setting left: partial images of processes that are gone, ready
   * images of sizes no longer kept or beyond the count. Returns what was removed.
   */
  reconcile(): { removed: string[] } {
    const removed: string[] = [];
    if (!existsSync(this.dir)) return { removed };
    const kept = new Map<number, number>();
    for (const name of readdirSync(this.dir).sort()) {
      const partial = PARTIAL.exec(name);
      if (partial) {
        const pid = Number(partial[3]);
        const path = join(this.dir, name);
        if (pid === process.pid ? !makingHere.has(path) : !pidExists(pid)) removed.push(name);
        continue;
      }
      const ready = READY.exec(name);
      if (!ready) continue;
      const gb = Number(ready[1]);
      const count = kept.get(gb) ?? 0;
      if (count >= (this.spec.get(gb) ?? 0) || !isImageOf(join(this.dir, name), gb)) {
        removed.push(name);
        continue;
      }
      kept.set(gb, count + 1);
    }
    for (const name of removed) rmSync(join(this.dir, name), { force: true });
    if (removed.length > 0)
      this.logger.info({ dir: this.dir, removed }, 'volume pool: leftovers removed');
    return { removed };
  }

  /** Ready images by size. */
  ready(): Map<number, string[]> {
    const bySize = new Map<number, string[]>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return bySize;
    }
    for (const name of names.sort()) {
      const ready = READY.exec(name);
      if (!ready) continue;
      const gb = Number(ready[1]);
      bySize.set(gb, [...(bySize.get(gb) ?? []), join(this.dir, name)]);
    }
    return bySize;
  }

  /**
   * Moves a ready image of `gb` GiB to `dest` (which must not exist), and starts a refill.
   * False when there is none: the caller makes its own.
   */
  take(gb: number, dest: string): boolean {
    if (!this.spec.has(gb)) return false;
    try {
      for (const image of this.ready().get(gb) ?? []) {
        try {
          renameSync(image, dest);
        } catch (error) {
          // Taken meanwhile (another create, another worker): the next one.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        if (isImageOf(dest, gb)) return true;
        this.logger.warn({ image, gb }, 'volume pool: a ready image was not a volume: removed');
        rmSync(dest, { force: true });
      }
      return false;
    } finally {
      this.refill();
    }
  }

  /** Starts filling the pool in the background (no-op while it is filling: it looks again once done). */
  refill(): void {
    if (this.stopped || this.spec.size === 0) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = null;
      if (this.again) {
        this.again = false;
        this.refill();
      }
    });
  }

  /** Resolves once the current fill (if any) is done. */
  async settled(): Promise<void> {
    while (this.filling) await this.filling;
  }

  /** No more refills (the current image is finished). */
  stop(): void {
    this.stopped = true;
  }

  private async fill(): Promise<void> {
    let made = 0;
    const started = Date.now();
    try {
      for (;;) {
        await this.whenIdle();
        if (this.stopped) return;
        if (!this.ensureDir()) {
          // No data dir yet (a fresh worker before its first create): look again later.
          setTimeout(() => this.refill(), DATA_DIR_POLL_MS).unref();
          return;
        }
        const gb = this.mostNeeded();
        if (gb === null) break;
        await this.makeOne(gb);
        made += 1;
      }
    } catch (error) {
      this.logger.warn({ dir: this.dir, err: message(error) }, 'volume pool: could not refill');
      return;
    }
    if (made > 0) {
      const ready = Object.fromEntries(
        [...this.ready()].map(([gb, images]) => [`${gb}g`, images.length]),
      );
      this.logger.info({ made, ready, ms: Date.now() - started }, 'volume pool filled');
    }
  }

  /** The pool's directory, made when its parent (the data dir) exists; false when it does not (nothing is made then). */
  private ensureDir(): boolean {
    if (existsSync(this.dir)) return true;
    if (!existsSync(dirname(this.dir))) return false;
    try {
      mkdirSync(this.dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return true;
  }

  /** The kept size with the smallest share of its count ready, or null when all are full. */
  private mostNeeded(): number | null {
    const ready = this.ready();
    let best: { gb: number; share: number } | null = null;
    for (const [gb, count] of this.spec) {
      const have = ready.get(gb)?.length ?? 0;
      if (have >= count) continue;
      const share = have / count;
      if (!best || share < best.share) best = { gb, share };
    }
    return best?.gb ?? null;
  }

  private async makeOne(gb: number): Promise<void> {
    const id = randomBytes(8).toString('hex');
    const partial = join(this.dir, `${gb}g-${id}.${process.pid}.new`);
    makingHere.add(partial);
    try {
      await this.makeImage(partial, gb, { background: true });
      renameSync(partial, join(this.dir, `${gb}g-${id}.img`));
    } catch (error) {
      rmSync(partial, { force: true });
      throw error;
    } finally {
      makingHere.delete(partial);
    }
  }
}

/** An ext4 image of exactly `gb` GiB (its size, and the superblock's magic 0xEF53 at byte 1080). */
export function isImageOf(path: string, gb: number): boolean {
  try {
    if (statSync(path).size !== gb * GIB) return false;
    const fd = openSync(path, 'r');
    try {
      const magic = Buffer.alloc(2);
      readSync(fd, magic, 0, 2, 1080);
      return magic.readUInt16LE(0) === 0xef53;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
