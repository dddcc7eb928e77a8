import { join } from 'node:path';

import { type MariadbLayout } from '../layout';

/** Written while a backup runs (its id): a guest that restarts finds it and reports the backup FAILED. */
export function backupMarkerPath(layout: Pick<MariadbLayout, 'volumeDir'>): string {
  return join(layout.volumeDir, '.coffer-backup-running.json');
}
