import { join } from 'node:path';

/**
 * Written while a backup runs (its id): a guest that restarts finds it and reports the backup
 * FAILED. Small on purpose: a manager checks for it at boot without loading the backup code.
 */
export function backupMarkerPath(volume: { volumeDir: string }): string {
  return join(volume.volumeDir, '.coffer-backup-running.json');
}
