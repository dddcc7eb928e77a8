import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { BOOT_EPOCH_FILE, nextBootEpoch } from './boot-epoch';

describe('nextBootEpoch', () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-epoch-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) {
      chmodSync(dir, 0o700);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts at 1 and goes up by one at every start, kept in the state dir (0600)', () => {
    const dir = stateDir();
    expect([nextBootEpoch(dir), nextBootEpoch(dir), nextBootEpoch(dir)]).toEqual([1, 2, 3]);
    expect(readFileSync(join(dir, BOOT_EPOCH_FILE), 'utf8')).toBe('3\n');
    expect(statSync(join(dir, BOOT_EPOCH_FILE)).mode & 0o777).toBe(0o600);
  });

  it('starts over above any counter from a file that does not hold a number, and says so', () => {
    const dir = stateDir();
    writeFileSync(join(dir, BOOT_EPOCH_FILE), 'garbage');
    const seen: string[] = [];
    const before = Date.now();
    const epoch = nextBootEpoch(dir, (content) => seen.push(content));
    expect(epoch).toBeGreaterThan(before);
    expect(seen).toEqual(['garbage']);
    expect(nextBootEpoch(dir)).toBe(epoch + 1);
  });

  it('throws when the state dir cannot be written (an epoch must never be reused)', () => {
    if (process.getuid?.() === 0) return; // root writes anyway
    const dir = stateDir();
    chmodSync(dir, 0o500);
    expect(() => nextBootEpoch(dir)).toThrow();
  });
});
