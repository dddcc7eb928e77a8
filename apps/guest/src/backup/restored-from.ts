import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '@coffer/host';

/**
 * What a restored volume was filled from: each backup of its chain with the SHA-256 of the
 * manifest it was restored by. Written with the datadir; read when a replica is attached
 * (a snapshot followed while it was being written is trusted once the control plane's
 * recorded SHA-256 matches). Small on purpose: a manager reads it without loading the rest
 * of the backup code.
 */
export interface RestoredFrom {
  backups: Array<{ backupId: string; manifestSha256: string }>;
}

export function restoredFromPath(volume: { volumeDir: string }): string {
  return join(volume.volumeDir, 'restored-from.json');
}

/** Null when the volume was not restored (or the file is unreadable). */
export function readRestoredFrom(volume: { volumeDir: string }): RestoredFrom | null {
  try {
    const parsed = JSON.parse(readFileSync(restoredFromPath(volume), 'utf8')) as RestoredFrom;
    return Array.isArray(parsed.backups) ? parsed : null;
  } catch {
    return null;
  }
}

export function writeRestoredFrom(volume: { volumeDir: string }, restoredFrom: RestoredFrom): void {
  writeFileAtomic(restoredFromPath(volume), JSON.stringify(restoredFrom), 0o600);
}
