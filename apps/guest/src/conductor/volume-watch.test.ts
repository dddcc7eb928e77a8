import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { VOLUME_FULL_FAULT_PREFIX } from '@coffer/contracts';
import { afterAll, describe, expect, it } from 'vitest';

import { formatBytes, minFreeBytes, VolumeWatch } from './volume-watch';

const dir = join(tmpdir(), `volume-watch-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VolumeWatch', () => {
  it("reports the filesystem's bytes, and no fault for a roomy volume whatever the log says", async () => {
    const log = join(dir, 'mariadb.err');
    writeFileSync(log, "[ERROR] InnoDB: The table 'old' is full\n");
    const watch = new VolumeWatch(dir, log);
    const first = await watch.read();
    expect(first?.totalBytes).toBeGreaterThan(0);
    expect(first?.usedBytes).toBeGreaterThan(0);
    expect(first?.usedBytes).toBeLessThanOrEqual(first!.totalBytes);
    expect(first?.fault).toBeNull();
    // A disk-full error now, on a volume with far more than 10 % free: not full.
    appendFileSync(log, "[ERROR] mariadbd: The table 'filler' is full\n");
    const second = await watch.read();
    const free = second!.totalBytes - second!.usedBytes;
    if (free > second!.totalBytes * 0.1) expect(second?.fault).toBeNull();
    else expect(second?.fault?.startsWith(VOLUME_FULL_FAULT_PREFIX)).toBe(true);
  });

  it('says nothing of a volume it cannot read, nor of one without its content (unmounted: the host is under it)', async () => {
    expect(await new VolumeWatch(join(dir, 'missing')).read()).toBeUndefined();
    const content = join(dir, 'data');
    const watch = new VolumeWatch(dir, undefined, content);
    expect(await watch.read()).toBeUndefined();
    mkdirSync(content);
    expect((await watch.read())?.totalBytes).toBeGreaterThan(0);
  });

  it('full means under 64 MiB or 2 % free; sizes read as people write them', () => {
    expect(minFreeBytes(1024 ** 3)).toBe(64 * 1024 ** 2);
    expect(minFreeBytes(100 * 1024 ** 3)).toBe(2 * 1024 ** 3);
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
  });
});
