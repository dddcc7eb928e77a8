import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

/** What the local store asks of the disk, in order: each file flushed, renamed, its directory flushed. */
const events: string[] = [];

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const path = String(args[0]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        await sync();
        events.push(`sync ${path}`);
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      await actual.rename(from, to);
      events.push(`rename ${to}`);
    },
  };
});

const { LocalDirectoryStore } = await import('./local-store');

let root = '';
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  events.length = 0;
});

describe('local directory store durability', () => {
  it('flushes each object before its name appears, and the name before put resolves: a manifest stored after its chunks never names one a crash takes back', async () => {
    root = mkdtempSync(join(tmpdir(), 'coffer-local-durable-'));
    const store = new LocalDirectoryStore(root);
    await store.put('backups/p/b/chunk-000000', Buffer.from('chunk'));
    await store.put('backups/p/b/manifest.json', Buffer.from('{}'));
    const dir = join(root, 'backups', 'p', 'b');
    const steps = events.map((event) =>
      event.replace(/\.[0-9a-f]{12}\.tmp$/, '.tmp').replace(root, '<root>'),
    );
    expect(steps).toEqual([
      'sync <root>/backups/p/b/chunk-000000.tmp',
      'rename <root>/backups/p/b/chunk-000000',
      'sync <root>/backups/p/b',
      'sync <root>/backups/p/b/manifest.json.tmp',
      'rename <root>/backups/p/b/manifest.json',
      'sync <root>/backups/p/b',
    ]);
    expect(readFileSync(join(dir, 'chunk-000000'), 'utf8')).toBe('chunk');
  });
});
