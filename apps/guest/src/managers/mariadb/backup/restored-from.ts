import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type MariadbLayout } from '../layout';

/**
 * What a restored volume was filled from: each backup of its chain with the SHA-256 of the
 * manifest it was restored by. Written with the datadir; read when a replica is attached
 * (a snapshot followed while it was being written is trusted once the control plane's
 * recorded SHA-256 matches). Small on purpose: the manager reads it without loading backup/.
 */
export interface RestoredFrom {
  backups: Array<{ backupId: string; manifestSha256: string }>;
}

export function restoredFromPath(layout: Pick<MariadbLayout, 'volumeDir'>): string {
  return join(layout.volumeDir, 'restored-from.json');
}

/** Null when the volume was not restored (or the file is unreadable). */
export function readRestoredFrom(layout: Pick<MariadbLayout, 'volumeDir'>): RestoredFrom | null {
  try {
    const parsed = JSON.parse(readFileSync(restoredFromPath(layout), 'utf8')) as RestoredFrom;
    return Array.isArray(parsed.backups) ? parsed : null;
  } catch {
    return null;
  }
}
