import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

import { directCapacity, wholeBlocks } from './block-aligned';
import {
  assertObjectName,
  assertObjectPrefix,
  ObjectNotFoundError,
  ObjectStoreError,
  type ObjectInfo,
  type ObjectStore,
  type PutResult,
} from './object-store';

type FileHandle = Awaited<ReturnType<typeof open>>;

async function writeAll(handle: FileHandle, body: Buffer, from: number, to: number): Promise<void> {
  for (let offset = from; offset < to;) {
    const { bytesWritten } = await handle.write(body, offset, to - offset, offset);
    offset += bytesWritten;
  }
}

/** Reads `into` from `from` up to `to` (the same offsets in the file) or to the file's end; returns where it stopped. */
async function readAll(
  handle: FileHandle,
  into: Buffer,
  from: number,
  to: number,
): Promise<number> {
  let offset = from;
  while (offset < to) {
    const { bytesRead } = await handle.read(into, offset, to - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The embedded default: objects are files under one directory (by default
 * `<COFFER_DATA_DIR>/backups`). A write goes to a temporary file in the same directory,
 * is flushed to disk, and renamed into place, and the directory is flushed too, so a reader
 * sees a whole object or none and a stored object survives a crash; temporary files are
 * never listed.
 */
export class LocalDirectoryStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly description: string;
  /** Set once the filesystem refused O_DIRECT: every later write and read is buffered. */
  private isDirectIoRefused = false;

  constructor(private readonly root: string) {
    if (!root.startsWith('/'))
      throw new ObjectStoreError(`the local object store needs an absolute path, got ${root}`);
    this.description = `directory ${root}`;
  }

  private pathOf(name: string): string {
    assertObjectName(name);
    return join(this.root, ...name.split('/'));
  }

  async put(name: string, body: Buffer): Promise<PutResult> {
    const path = this.pathOf(name);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      if (!(await this.writeDirect(temporary, body))) {
        const handle = await open(temporary, 'w', 0o600);
        try {
          await writeAll(handle, body, 0, body.length);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await rename(temporary, path);
      // The new name is durable too: a manifest stored after its chunks never names a chunk
      // a crash could still take back (ext4 journals the rename, but only this forces it).
      await syncDirectory(dirname(path));
    } catch (error) {
      await rm(temporary, { force: true });
      throw new ObjectStoreError(
        `could not write ${name} to ${this.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // No MD5 here: nothing travels, and hashing every chunk again would cost the backup's CPU.
    return { etag: null, size: body.length };
  }

  /**
   * Writes `body` to the new file `path` with direct I/O (block-aligned.ts: a backup's chunks
   * skip the page cache), its last partial block buffered, and flushes it: false, with nothing
   * written, when `body` is not a page-aligned buffer or the filesystem refuses direct I/O.
   */
  private async writeDirect(path: string, body: Buffer): Promise<boolean> {
    const direct = this.isDirectIoRefused
      ? 0
      : Math.min(directCapacity(body), wholeBlocks(body.length));
    if (direct === 0) return false;
    let handle;
    try {
      handle = await open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT,
        0o600,
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      this.isDirectIoRefused = true; // a filesystem without O_DIRECT
      return false;
    }
    try {
      await writeAll(handle, body, 0, direct);
      if (direct < body.length) {
        const tail = await open(path, constants.O_WRONLY);
        try {
          await writeAll(tail, body, direct, body.length);
        } finally {
          await tail.close();
        }
      }
      // One fsync of the file covers both handles' writes and its size.
      await handle.sync();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      // The kernel refused the buffer after all: start over, buffered.
      await rm(path, { force: true });
      return false;
    } finally {
      await handle.close();
    }
  }

  async get(name: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(name);
      throw new ObjectStoreError(
        `could not read ${name} from ${this.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async getInto(name: string, target: Buffer): Promise<Buffer> {
    try {
      const path = this.pathOf(name);
      const { size } = await stat(path);
      const into = size <= target.length ? target.subarray(0, size) : Buffer.allocUnsafe(size);
      // Whole blocks straight into a page-aligned target, a partial last block (written
      // through the cache) through the cache: nothing lands past the object.
      const direct =
        size <= target.length ? Math.min(directCapacity(target), wholeBlocks(size)) : 0;
      let offset = direct > 0 ? await this.readDirect(path, target, direct) : 0;
      if (offset < size) {
        const handle = await open(path, 'r');
        try {
          offset = await readAll(handle, into, offset, size);
        } finally {
          await handle.close();
        }
      }
      if (offset < size) throw new Error(`it ended after ${offset} of ${size} bytes`);
      return into;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(name);
      throw new ObjectStoreError(
        `could not read ${name} from ${this.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Reads up to `length` bytes (whole blocks) of `path` into `target` with direct I/O; the bytes read (0 when refused). */
  private async readDirect(path: string, target: Buffer, length: number): Promise<number> {
    if (this.isDirectIoRefused) return 0;
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      this.isDirectIoRefused = true;
      return 0;
    }
    try {
      return await readAll(handle, target, 0, length);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      return 0;
    } finally {
      await handle.close();
    }
  }

  async delete(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    try {
      await rm(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new ObjectStoreError(
        `could not delete ${name} from ${this.description}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    await this.pruneEmptyDirs(dirname(path));
    return true;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertObjectPrefix(prefix);
    // Walk only the deepest directory the prefix names.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = base ? join(this.root, ...base.split('/')) : this.root;
    const found: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          await walk(path);
        } else if (entry.isFile() && !entry.name.endsWith('.tmp')) {
          const name = relative(this.root, path).split(sep).join('/');
          if (!name.startsWith(prefix)) continue;
          const { size } = await stat(path);
          found.push({ name, size });
        }
      }
    };
    await walk(start);
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    for (const object of objects) await this.delete(object.name);
    // Leftover temporary files of an interrupted write under a directory prefix go too.
    if (prefix.endsWith('/')) {
      const dir = join(this.root, ...prefix.slice(0, -1).split('/'));
      await rm(dir, { recursive: true, force: true });
      await this.pruneEmptyDirs(dirname(dir));
    }
    return objects.length;
  }

  /** Removes empty directories from `dir` up to (not including) the root. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let current = dir; current.startsWith(this.root + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or gone): stop here
      }
    }
  }

  async close(): Promise<void> {}
}
