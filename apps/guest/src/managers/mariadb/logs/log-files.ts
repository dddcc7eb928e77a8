import {
  closeSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

import { StringDecoder } from 'node:string_decoder';

import { MAX_LOG_CAP_BYTES, MIN_LOG_CAP_BYTES } from '@coffer/contracts';

import { maskPasswords } from './mask-passwords';

/** Reading a server log's end, masked; masking rotated files; the caps (issue 16 part 3). */

const MIB = 1024 * 1024;

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

function filesystemBytes(dir: string): number | null {
  try {
    const stats = statfsSync(dir);
    return stats.blocks * stats.bsize;
  } catch {
    return null;
  }
}

/** The default cap of one log (with its rotated files): 1 % of its filesystem, within 4-64 MiB. */
export function defaultLogCap(dir: string): number {
  const total = filesystemBytes(dir);
  if (total === null) return 64 * MIB;
  return Math.min(64 * MIB, Math.max(4 * MIB, Math.floor(total / 100)));
}

/** The largest cap a tenant may set: 10 % of the filesystem, within 1-256 MiB. */
export function largestLogCap(dir: string): number {
  const total = filesystemBytes(dir);
  if (total === null) return MAX_LOG_CAP_BYTES;
  return Math.min(MAX_LOG_CAP_BYTES, Math.max(MIN_LOG_CAP_BYTES, Math.floor(total / 10)));
}

/** The file's identity (its inode), '' when it is missing: another one after a rotation. */
export function fileIdOf(path: string): string {
  try {
    return String(statSync(path).ino);
  } catch {
    return '';
  }
}

export interface ForwardRead {
  lines: string[];
  /** Where the next read starts (after the last complete line returned). */
  offset: number;
  fileId: string;
  isRestarted: boolean;
  hasMore: boolean;
}

/**
 * The complete lines (masked) from `fromOffset` on, at most `maxBytes` read: a tail by offset.
 * From the start when the file is another one (`fileId`) or shorter than the offset (rotated).
 * A line longer than `maxBytes` comes cut in pieces.
 */
export function readForward(
  path: string,
  fromOffset: number,
  fileId: string | undefined,
  maxBytes: number,
): ForwardRead {
  const currentId = fileIdOf(path);
  const size = fileSizeOf(path);
  const isRestarted =
    fromOffset > size || (fileId !== undefined && fileId !== '' && fileId !== currentId);
  const start = isRestarted ? 0 : fromOffset;
  const end = Math.min(size, start + maxBytes);
  const bytes = readRange(path, start, end);
  const lastNewline = bytes.lastIndexOf(0x0a);
  let used: number;
  if (lastNewline >= 0) used = lastNewline + 1;
  else if (bytes.length >= maxBytes) used = bytes.length;
  else used = 0;
  const text = bytes.subarray(0, used).toString('utf8');
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n').map(maskPasswords);
  return {
    lines,
    offset: start + used,
    fileId: currentId,
    isRestarted,
    hasMore: start + used < size && used > 0 && end < size,
  };
}

/**
 * The end of several files read as one (oldest first: rotated files, then the current one), at
 * most `maxBytes`, from a line start, masked.
 */
export function readMaskedFiles(
  paths: string[],
  maxBytes: number,
): { text: string; isTruncated: boolean } {
  const sizes = paths.map(fileSizeOf);
  const isTruncated = sizes.reduce((sum, size) => sum + size, 0) > maxBytes;
  let budget = maxBytes;
  const parts: Buffer[] = [];
  for (let i = paths.length - 1; i >= 0 && budget > 0; i--) {
    const size = sizes[i]!;
    const start = Math.max(0, size - budget);
    parts.unshift(readRange(paths[i]!, start, size));
    budget -= size - start;
  }
  let text = Buffer.concat(parts).toString('utf8');
  if (isTruncated) {
    const firstNewline = text.indexOf('\n');
    text = firstNewline < 0 ? '' : text.slice(firstNewline + 1);
  }
  return { text: text.split('\n').map(maskPasswords).join('\n'), isTruncated };
}

/** Copies `source` to `target` with every line masked (chunk by chunk), then removes `source`. */
export function moveMasked(source: string, target: string, mode = 0o640): void {
  const temporary = `${target}.masking`;
  const input = openSync(source, 'r');
  const output = openSync(temporary, 'w', mode);
  try {
    const chunk = Buffer.alloc(MIB);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    for (;;) {
      const n = readSync(input, chunk, 0, chunk.length, null);
      if (n === 0) break;
      pending += decoder.write(chunk.subarray(0, n));
      const lastNewline = pending.lastIndexOf('\n');
      if (lastNewline < 0 && pending.length < 16 * MIB) continue;
      const cut = lastNewline < 0 ? pending.length : lastNewline + 1;
      writeSync(output, pending.slice(0, cut).split('\n').map(maskPasswords).join('\n'));
      pending = pending.slice(cut);
    }
    pending += decoder.end();
    if (pending !== '') writeSync(output, maskPasswords(pending));
    fsyncSync(output);
  } finally {
    closeSync(input);
    closeSync(output);
  }
  renameSync(temporary, target);
  unlinkSync(source);
}
