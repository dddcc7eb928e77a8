// The staged root as a disk: an ext4 filesystem made straight from the directory
// (`mkfs.ext4 -d`: no loop device, no mount), labelled coffer-root, then qcow2.
import { statSync, truncateSync, writeFileSync } from 'node:fs';

import { progress, run } from './run.mjs';

export const ROOT_LABEL = 'coffer-root';
/** Free room in the root filesystem beyond its content (logs; the datadir is on the volume). */
const HEADROOM_BYTES = 768 * 1024 * 1024;

export async function makeRawDisk(stage, raw) {
  const used = Number((await run('du', ['-sb', stage], { capture: true })).split(/\s/)[0]);
  // ext4's own metadata and inode tables take about a tenth on top
  const size = Math.ceil((used * 1.15 + HEADROOM_BYTES) / (1024 * 1024)) * 1024 * 1024;
  writeFileSync(raw, '');
  truncateSync(raw, size);
  progress(
    `disk: ext4 of ${(size / 2 ** 30).toFixed(2)} GiB from ${(used / 2 ** 20).toFixed(0)} MiB of files (mkfs.ext4 -d)`,
  );
  await run('mkfs.ext4', ['-q', '-F', '-L', ROOT_LABEL, '-d', stage, '-E', 'root_owner=0:0', raw]);
}

export async function convertToQcow2(raw, qcow2, { compress }) {
  progress(`disk: qcow2${compress ? ' (compressed)' : ''}`);
  await run('qemu-img', ['convert', '-O', 'qcow2', ...(compress ? ['-c'] : []), raw, qcow2]);
  return statSync(qcow2).size;
}
