import { type BackupReport } from '@coffer/contracts';
import { type Logger } from 'pino';

/** How often a backup's progress goes to the conductor, at most. */
export const PROGRESS_INTERVAL_MS = 1000;

/** What a strategy moves while its tools run. */
export interface ProgressSink {
  /** Bytes of the uncompressed stream so far. */
  rawBytes: number;
  /** An estimate, 0-100; sent when it moved and a second has passed. */
  update(percent: number): void;
}

/** A backup's reports to the conductor: BUILDING progress now and then, and the end always. */
export class BackupProgress implements ProgressSink {
  private lastSentAt = 0;
  private lastPercent = -1;
  private sending: Promise<void> = Promise.resolve();
  storedBytes = 0;
  rawBytes = 0;

  constructor(
    private readonly report: (report: BackupReport) => Promise<void>,
    private readonly logger: Logger,
    private readonly backupId: string,
  ) {}

  /** A BUILDING report, at most once a second and only when something moved. */
  update(percent: number, { force = false } = {}): void {
    const now = Date.now();
    const clamped = Math.max(0, Math.min(99, Math.floor(percent)));
    if (!force && (now - this.lastSentAt < PROGRESS_INTERVAL_MS || clamped < this.lastPercent))
      return;
    this.lastSentAt = now;
    this.lastPercent = Math.max(clamped, this.lastPercent);
    const report: BackupReport = {
      backupId: this.backupId,
      status: 'BUILDING',
      progress: this.lastPercent,
      storedBytes: this.storedBytes,
      rawBytes: this.rawBytes,
    };
    // One report at a time, in order; a lost progress report is only a late progress bar.
    this.sending = this.sending
      .then(() => this.report(report))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'backup progress not sent'));
  }

  /**
   * The FAILED report with the tenant-facing message (cut to what the conductor keeps). Never
   * throws: the backup's own error is the one to raise, a report that could not be sent is logged.
   */
  async fail(message: string): Promise<void> {
    await this.finish({
      backupId: this.backupId,
      status: 'FAILED',
      progress: 0,
      storedBytes: 0,
      rawBytes: 0,
      message: message.slice(0, 2000),
    }).catch((error: unknown) =>
      this.logger.error(
        { err: error, backupId: this.backupId },
        'could not report the failed backup',
      ),
    );
  }

  /** The final report: retried, because the control plane waits for it. */
  async finish(report: BackupReport): Promise<void> {
    await this.sending;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.report(report);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        this.logger.warn({ err: error, attempt }, 'backup report not sent; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }
}
