import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { unmountUnder } from './mounts';

/** Loop mounts need root and /dev/loop-control; elsewhere there is nothing to clean up. */
const canLoopMount =
  process.getuid?.() === 0 &&
  (() => {
    try {
      execFileSync('losetup', ['-f'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

const dir = mkdtempSync(join(tmpdir(), 'coffer-mounts-'));
afterAll(() => {
  unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
});

function mountedUnder(path: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(`${path}/`));
}

describe.skipIf(!canLoopMount)('unmountUnder', () => {
  it('unmounts the loop-mounted volumes below a dir and frees their loop devices', () => {
    const image = join(dir, 'a', 'volume.img');
    const data = join(dir, 'a', 'data');
    mkdirSync(data, { recursive: true });
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    execFileSync('mount', ['-o', 'loop', image, data]);
    writeFileSync(join(data, 'row'), 'x');
    expect(mountedUnder(dir)).toEqual([data]);

    expect(unmountUnder(dir)).toBe(1);
    expect(mountedUnder(dir)).toEqual([]);
    expect(execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim()).toBe('');
    expect(unmountUnder(dir)).toBe(0);
  });
});
