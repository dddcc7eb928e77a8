import { closeSync, openSync, readSync, statSync, statfsSync } from 'node:fs';

import { maskPasswords } from './mask-passwords';

/** Reading a server log's end, masked (issue 16 part 3). */

/** The most bytes one tail reads from the end of a file (the lines before are left out). */
export const MAX_TAIL_READ_BYTES = 4 * 1024 * 1024;

export function fileSizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Bytes [start, end) of a file (fewer if it is shorter now). */
export function readRange(path: string, start: number, end: number): Buffer {
  if (end <= start) return Buffer.alloc(0);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(end - start);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export interface TailOptions {
  lines: number;
  search?: string;
  /** Only what was written after this offset (a smaller file was rotated: from its start). */
  after?: number;
  maxBytes?: number;
}

export interface Tail {
  lines: string[];
  /** The file's size as read. */
  offset: number;
  isTruncated: boolean;
}

/** The last `lines` complete lines of a file (masked), optionally filtered and after an offset. */
export function readTail(path: string, options: TailOptions): Tail {
  const size = fileSizeOf(path);
  const maxBytes = options.maxBytes ?? MAX_TAIL_READ_BYTES;
  const from = options.after !== undefined && options.after <= size ? options.after : 0;
  const start = Math.max(from, size - maxBytes);
  const bytes = readRange(path, start, size);
  // Only complete lines: what follows the last newline is still being written.
  const lastNewline = bytes.lastIndexOf(0x0a);
  const end = lastNewline < 0 ? 0 : lastNewline + 1;
  let text = bytes.subarray(0, end).toString('utf8');
  let isTruncated = start > from;
  if (start > from) {
    // Cut mid-line: drop the partial first line.
    const firstNewline = text.indexOf('\n');
    text = firstNewline < 0 ? '' : text.slice(firstNewline + 1);
  }
  let all = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  all = all.map(maskPasswords);
  if (options.search) {
    const needle = options.search.toLowerCase();
    all = all.filter((line) => line.toLowerCase().includes(needle));
  }
  if (all.length > options.lines) {
    all = all.slice(all.length - options.lines);
    isTruncated = true;
  }
  return { lines: all, offset: start + end, isTruncated };
}

/** The end of a file, at most `maxBytes`, masked; from a line start. */
export function readMaskedEnd(
  path: string,
  maxBytes: number,
): { text: string; isTruncated: boolean } {
  const size = fileSizeOf(path);
  const start = Math.max(0, size - maxBytes);
  let text = readRange(path, start, size).toString('utf8');
  if (start > 0) {
    const firstNewline = text.indexOf('\n');
    text = firstNewline < 0 ? '' : text.slice(firstNewline + 1);
  }
  return { text: text.split('\n').map(maskPasswords).join('\n'), isTruncated: start > 0 };
}

/** The size cap of one log: 1 % of its filesystem, at least 1 MiB, at most 64 MiB. */
export function logSizeCap(dir: string): number {
  const MIB = 1024 * 1024;
  let total = 0;
  try {
    const stats = statfsSync(dir);
    total = stats.blocks * stats.bsize;
  } catch {
    return 64 * MIB;
  }
  return Math.min(64 * MIB, Math.max(MIB, Math.floor(total / 100)));
}
