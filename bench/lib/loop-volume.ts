import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { loopDeviceMountedOn, makeExt4Image } from '@coffer/compute';

import { runTool } from './bare-mariadb';

/**
 * Runs `work` on an ext4 loop volume of `gb` GiB under `dir`, made (before `work`, so untimed)
 * as the local provider makes an instance's: `makeExt4Image`, mounted, the loop device switched
 * to direct I/O. Unmounted and removed afterwards, whatever `work` did. The bare side's like-for-
 * like disk in the benchmarks that write an instance's datadir.
 */
export async function withLoopVolume<T>(
  dir: string,
  name: string,
  gb: number,
  work: (mountPoint: string) => Promise<T>,
): Promise<T> {
  const image = join(dir, `${name}.img`);
  const mountPoint = join(dir, name);
  mkdirSync(mountPoint, { recursive: true });
  try {
    await makeExt4Image(image, gb, { background: false });
    runTool('mount', ['-o', 'loop,noatime', image, mountPoint]);
    try {
      const device = loopDeviceMountedOn(mountPoint);
      if (device) runTool('losetup', ['--direct-io=on', device]);
      return await work(mountPoint);
    } finally {
      runTool('umount', [mountPoint]);
    }
  } finally {
    rmSync(image, { force: true });
    rmSync(mountPoint, { recursive: true, force: true });
  }
}
