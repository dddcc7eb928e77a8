import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Where backups keep their scratch dirs on the volume (never the shared /tmp). */
export const WORK_DIR_NAME = 'backup-work';

/** A fresh scratch directory on the volume for one operation, only the guest's to read; `remove` when it ends. */
export function makeScratchDir(
  volumeDir: string,
  name: string,
): { dir: string; remove: () => void } {
  const dir = join(volumeDir, WORK_DIR_NAME, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
