import 'server-only';

import { type BackupStrategy } from '@coffer/db';

import { env } from '~/env';
import { DEFAULT_BACKUP_RETAIN_FULL_COUNT } from '~/lib/instance-schemas';

/**
 * Backups on by default (RDS keeps 7 days): a new instance gets a daily full backup, the last
 * 7 kept, unless its create request turns it off or keeps another number. The tenant changes
 * or turns it off later like any schedule (backup-schedule.ts). Replicas get none: they are
 * made by createReplicas, not createInstance, and hold the data their source's schedule
 * already backs up.
 */

export const DEFAULT_BACKUP_INTERVAL_MINUTES = 24 * 60;

const HOUR_MS = 60 * 60_000;

/** The next `HH:MM` (UTC) at least an hour after `now`: a first backup never runs minutes after a create. */
export function nextBackupWindow(
  now: Date,
  window: string = env.COFFER_DEFAULT_BACKUP_WINDOW,
): Date {
  const [hours = 0, minutes = 0] = window.split(':').map(Number);
  const next = new Date(now);
  next.setUTCHours(hours, minutes, 0, 0);
  while (next.getTime() - now.getTime() < HOUR_MS) next.setUTCDate(next.getUTCDate() + 1);
  return next;
}

/** What a create request says of backups (createInstanceInputSchema's `backups`). */
export interface DefaultBackupRequest {
  isEnabled: boolean;
  retainFullCount: number;
}

/**
 * The schedule a new instance starts with (the columns of backup_schedules but its ids), or
 * null when the request turns backups off: a full backup every day, physical or logical as the
 * datastore version backs up, first in the operator's backup window.
 */
export function defaultBackupSchedule(
  request: DefaultBackupRequest | undefined,
  backupStrategy: BackupStrategy,
  now = new Date(),
) {
  if (request && !request.isEnabled) return null;
  return {
    isEnabled: true,
    fullType: backupStrategy === 'LOGICAL' ? ('LOGICAL' as const) : ('FULL' as const),
    fullIntervalMinutes: DEFAULT_BACKUP_INTERVAL_MINUTES,
    incrementalIntervalMinutes: null,
    retainFullCount: request?.retainFullCount ?? DEFAULT_BACKUP_RETAIN_FULL_COUNT,
    nextFullAt: nextBackupWindow(now),
  };
}
