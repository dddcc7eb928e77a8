import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

import {
  assertObjectName,
  assertObjectPrefix,
  ObjectNotFoundError,
  ObjectStoreError,
  type ObjectInfo,
  type ObjectStore,
  type PutResult,
} from './object-store';

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
      const handle = await open(temporary, 'w', 0o600);
      try {
        let offset = 0;
        while (offset < body.length) {
          const { bytesWritten } = await handle.write(body, offset, body.length - offset);
          offset += bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
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
      const handle = await open(this.pathOf(name), 'r');
      try {
        const { size } = await handle.stat();
        const into = size <= target.length ? target.subarray(0, size) : Buffer.allocUnsafe(size);
        let offset = 0;
        while (offset < size) {
          const { bytesRead } = await handle.read(into, offset, size - offset, offset);
          if (bytesRead === 0) throw new Error(`it ended after ${offset} of ${size} bytes`);
          offset += bytesRead;
        }
        return into;
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(name);
      throw new ObjectStoreError(
        `could not read ${name} from ${this.description}: ${(error as Error).message}`,
        { cause: error },
      );
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
