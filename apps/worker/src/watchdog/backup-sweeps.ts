import {
  emptyBackupSweepReport,
  type BackupSweep,
  type BackupSweepDeps,
  type BackupSweepReport,
} from './backup-sweep-pass';
import { Suspects } from './suspects';
import { sweepBackupRetention } from './sweep-backup-retention';
import { sweepBackupSchedules } from './sweep-backup-schedules';
import { sweepLostBackupCreates } from './sweep-lost-backup-creates';
import { sweepLostBackupDeletes } from './sweep-lost-backup-deletes';
import { sweepStaleBackupTasks } from './sweep-stale-backup-tasks';

export { type BackupSweepDeps, type BackupSweepReport } from './backup-sweep-pass';

/**
 * The watchdog's backup sweeps, one pass under the watchdog's backup lease, in this order:
 * due schedules start their backups, retention expires old scheduled chains, then what nobody
 * runs any more is settled: lost creates, BACKING_UP tasks with nothing to back up, lost
 * deletes (each in its own file).
 */
const SWEEPS: readonly BackupSweep[] = [
  sweepBackupSchedules,
  sweepBackupRetention,
  sweepLostBackupCreates,
  sweepStaleBackupTasks,
  sweepLostBackupDeletes,
];

export class BackupSweeper {
  private readonly suspects = new Suspects();

  constructor(private readonly deps: BackupSweepDeps) {}

  async sweep(now: Date = new Date(), { graceMs = 60_000 } = {}): Promise<BackupSweepReport> {
    const report = emptyBackupSweepReport();
    const at = now.getTime();
    this.suspects.startPass();
    const pass = {
      now,
      report,
      isSuspect: (key: string) => this.suspects.isSuspectFor(key, graceMs, at),
    };
    for (const sweep of SWEEPS) await sweep(this.deps, pass);
    this.suspects.endPass();
    if (Object.values(report).some((ids: string[]) => ids.length > 0)) {
      this.deps.logger.info(report, 'watchdog: backup sweep acted');
    }
    return report;
  }
}
