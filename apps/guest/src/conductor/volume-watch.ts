import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';

import { VOLUME_FULL_FAULT_PREFIX } from '@coffer/contracts';

/**
 * What the heartbeat says about the volume (issue 13): the bytes used and in all of the
 * filesystem holding the datadir (statfs, as `df` counts them), and a fault while it is full.
 *
 * Full means the server cannot write: less free space than {@link minFreeBytes} (InnoDB
 * extends its files in steps of up to 64 MB, so a write fails before the last byte goes), or
 * an "is full" / ENOSPC (errno 28) error in the server's error log since the volume last grew
 * while less than {@link FULL_AFTER_ERROR_FRACTION} of it is free. The server keeps running and
 * serving reads; growing the volume (a larger total) clears it.
 */

export interface VolumeReport {
  usedBytes: number;
  totalBytes: number;
  fault: string | null;
}

/** Less free than this (64 MiB, or 2 % of a volume above 3 GiB) is full. */
export function minFreeBytes(totalBytes: number): number {
  return Math.max(64 * 1024 ** 2, Math.floor(totalBytes * 0.02));
}
/** After the server said the disk is full: full until this fraction is free again. */
const FULL_AFTER_ERROR_FRACTION = 0.1;
const FULL_ERROR = /is full|errno:? ?28\b|No space left on device|Disk (is )?full/i;
/** The most of the error log read per beat (a log that grew more is read from its tail). */
const MAX_LOG_READ = 256 * 1024;

export class VolumeWatch {
  private logOffset: number | null = null;
  private sawFullError = false;
  private lastTotal = 0;

  constructor(
    private readonly volumeDir: string,
    /** The server's error log, scanned for "is full" errors; optional. */
    private readonly errorLog?: string,
    /**
     * A path on the volume that exists once the datastore is on it (its datadir); optional.
     * While it is missing, `volumeDir` may be the empty mount point of a volume the provider
     * has unmounted to grow it, whose statfs is the host's filesystem: nothing is said then.
     */
    private readonly contentPath?: string,
  ) {}

  /** The report, or undefined when the volume cannot be read (never throws). */
  async read(): Promise<VolumeReport | undefined> {
    let totalBytes: number;
    let freeBytes: number;
    let usedBytes: number;
    try {
      const stats = await statfs(this.volumeDir);
      totalBytes = stats.blocks * stats.bsize;
      usedBytes = (stats.blocks - stats.bfree) * stats.bsize;
      freeBytes = stats.bavail * stats.bsize;
    } catch {
      return undefined;
    }
    // Looked at after statfs: there when the volume was mounted at the statfs (a remount in between takes seconds).
    if (this.contentPath && !existsSync(this.contentPath)) return undefined;
    if (totalBytes > this.lastTotal) {
      // Grown (or the first beat): earlier errors no longer say anything.
      if (this.lastTotal !== 0) this.sawFullError = false;
      this.lastTotal = totalBytes;
    }
    if (this.scanLogForFullErrors()) this.sawFullError = true;
    const isFull =
      freeBytes < minFreeBytes(totalBytes) ||
      (this.sawFullError && freeBytes < totalBytes * FULL_AFTER_ERROR_FRACTION);
    if (!isFull) this.sawFullError = false;
    return {
      usedBytes,
      totalBytes,
      fault: isFull
        ? `${VOLUME_FULL_FAULT_PREFIX}: ${formatBytes(usedBytes)} of ${formatBytes(totalBytes)} used, ${formatBytes(freeBytes)} free; the database refuses writes (reads still work). Grow the volume (resize) or delete data.`
        : null,
    };
  }

  /** True when the error log has a disk-full error among the lines written since the last call. */
  private scanLogForFullErrors(): boolean {
    if (!this.errorLog) return false;
    let size: number;
    try {
      size = statSync(this.errorLog).size;
    } catch {
      return false;
    }
    if (this.logOffset === null || size < this.logOffset) {
      // First look (or a log rotated away): only what is written from now on; errors of an
      // earlier run say nothing of the volume now (free space below the threshold still does).
      this.logOffset = size;
    }
    const start = Math.max(this.logOffset, size - MAX_LOG_READ);
    const length = size - start;
    this.logOffset = size;
    if (length <= 0) return false;
    const buffer = Buffer.alloc(length);
    const fd = openSync(this.errorLog, 'r');
    try {
      readSync(fd, buffer, 0, length, start);
    } finally {
      closeSync(fd);
    }
    return FULL_ERROR.test(buffer.toString('utf8'));
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
