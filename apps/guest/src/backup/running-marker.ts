import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '@coffer/host';

import { backupMarkerPath } from './marker';
import { WORK_DIR_NAME } from './work-dir';

/**
 * The marker of a backup under way: a guest that restarts mid-backup reports it FAILED, and
 * refuses the RPC job if it comes back (a stalled job is handed to the restarted guest).
 */

interface Volume {
  volumeDir: string;
}

function abandonedPath(volume: Volume): string {
  return join(volume.volumeDir, '.coffer-backups-abandoned.json');
}

export function markBackupRunning(volume: Volume, backupId: string): void {
  writeFileAtomic(
    backupMarkerPath(volume),
    `${JSON.stringify({ backupId, startedAt: new Date().toISOString() })}\n`,
    0o600,
  );
}

export function clearBackupRunning(volume: Volume): void {
  rmSync(backupMarkerPath(volume), { force: true });
}

function readAbandoned(volume: Volume): string[] {
  try {
    const list = JSON.parse(readFileSync(abandonedPath(volume), 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function isBackupAbandoned(volume: Volume, backupId: string): boolean {
  return readAbandoned(volume).includes(backupId);
}

/** The backup a previous guest process left unfinished (and forgets it, remembering it as abandoned). */
export function takeInterruptedBackup(volume: Volume): string | null {
  let backupId: string | null = null;
  try {
    const marker = JSON.parse(readFileSync(backupMarkerPath(volume), 'utf8')) as {
      backupId?: unknown;
    };
    if (typeof marker.backupId === 'string') backupId = marker.backupId;
  } catch {
    return null;
  }
  if (backupId) {
    const abandoned = [...readAbandoned(volume).filter((id) => id !== backupId), backupId].slice(
      -50,
    );
    writeFileAtomic(abandonedPath(volume), `${JSON.stringify(abandoned)}\n`, 0o600);
  }
  clearBackupRunning(volume);
  rmSync(join(volume.volumeDir, WORK_DIR_NAME), { recursive: true, force: true });
  return backupId;
}
