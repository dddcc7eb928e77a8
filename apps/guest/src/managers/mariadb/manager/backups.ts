import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { type GuestResult } from '@coffer/contracts';

import { TenantFacingError } from '../../../errors';
import { type MethodParams, type PrepareParams } from '../../datastore-manager';
import { readAdminCredentials } from '../admin-connection';
import { type BackupRun, type FindBackupTools, type VerifiedRestore } from '../backup';
import { backupMarkerPath } from '../backup/marker';
import { readRestoredFrom } from '../backup/restored-from';
import { type AdminSession } from './admin-session';
import { step } from './describe-failure';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

export type RestoreSpec = NonNullable<PrepareParams['restore']>;

/**
 * The manager's side of backups and restores: it starts them and can stop them. The work
 * itself is in ../backup/, loaded on first use (a split chunk of the bundle).
 */
export class MariadbBackups {
  private runningBackup: BackupRun | null = null;
  private restoreAbort: AbortController | null = null;

  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
  ) {}

  /** When the guest starts: report a backup a previous guest left half-made, then load the backup code. */
  async onBoot(): Promise<void> {
    await this.reportInterruptedBackup();
    // Load the backup code now (a small chunk): a guest adopted after its bundle was rebuilt
    // (new chunk names) must still be able to make backups.
    void import('../backup').catch((error: unknown) =>
      this.runtime.logger.warn({ err: error }, 'could not load the backup code'),
    );
  }

  async createBackup(params: MethodParams<'create_backup'>): Promise<GuestResult<'create_backup'>> {
    if (!this.state.isPrepared) {
      throw new TenantFacingError(
        'The backup cannot be made: the database server has not been prepared yet.',
      );
    }
    const { layout, options, events } = this.runtime;
    const { startBackup, findBackupTools } = await import('../backup');
    this.runningBackup = startBackup(
      {
        ...this.backupEnvironment(findBackupTools),
        projectId: options.info.projectId,
        connectAsAdmin: () => this.session.connect(),
        adminCredentials: () => {
          const credentials = readAdminCredentials(layout);
          if (!credentials)
            throw new TenantFacingError('The guest has no account on its database server.');
          return credentials;
        },
        report: (report) => events.onBackupReport(report),
        streamHost: options.config.datastore.bindAddress,
      },
      params,
      this.state.knownVersion,
    );
    try {
      return await this.runningBackup.done;
    } finally {
      this.runningBackup = null;
    }
  }

  /**
   * The guest is stopping: a backup under way stops (it fails, and removes what it stored),
   * and so does a restore's fetch (one following a snapshot may be waiting for its chunks).
   */
  interrupt(): void {
    this.runningBackup?.interrupt();
    this.restoreAbort?.abort();
  }

  /**
   * Whether the datadir is the finished physical restore of exactly `spec`'s chain: its
   * marker (restored-from.json) is written before the complete scratch directory is renamed
   * to the datadir, so a datadir with a matching marker is whole. A half-done restore
   * never reached the datadir (it is redone); a datadir restored from anything else is not
   * this restore (writeDatadir refuses it).
   */
  isRestoredFrom(spec: RestoreSpec): boolean {
    const { layout } = this.runtime;
    if (spec.backups[0]!.type === 'LOGICAL') return false;
    if (!existsSync(join(layout.datadir, 'mysql'))) return false;
    const restored = readRestoredFrom(layout)?.backups;
    return (
      restored?.length === spec.backups.length &&
      spec.backups.every(
        (backup, i) =>
          restored[i]!.backupId === backup.backupId &&
          (backup.manifestSha256 === null || restored[i]!.manifestSha256 === backup.manifestSha256),
      )
    );
  }

  /** Fetches and verifies every chunk of the backups to restore, before anything is written. */
  async fetchRestore(spec: RestoreSpec): Promise<VerifiedRestore> {
    const { VerifiedRestore, findBackupTools } = await import('../backup');
    this.restoreAbort = new AbortController();
    const { signal } = this.restoreAbort;
    try {
      return await step('Fetching and verifying the backup', () =>
        VerifiedRestore.fetch({ ...this.backupEnvironment(findBackupTools), signal }, spec),
      );
    } finally {
      this.restoreAbort = null;
    }
  }

  private backupEnvironment(findBackupTools: FindBackupTools) {
    const { options, layout, logger } = this.runtime;
    return {
      instanceId: options.info.instanceId,
      datastoreVersion: options.info.datastoreVersion,
      layout,
      guestSecret: options.config.guestSecret,
      path: options.path,
      tools: () => findBackupTools({ path: options.path }),
      logger: logger.child({ component: 'backup' }),
    };
  }

  /** A backup a previous guest process left half-made: say it FAILED (the control plane removes its objects). */
  private async reportInterruptedBackup(): Promise<void> {
    const { layout, logger, events } = this.runtime;
    if (!existsSync(backupMarkerPath(layout))) return;
    const { takeInterruptedBackup } = await import('../backup');
    const backupId = takeInterruptedBackup(layout);
    if (!backupId) return;
    logger.warn({ backupId }, 'a backup was interrupted by a guest restart');
    await events
      .onBackupReport({
        backupId,
        status: 'FAILED',
        progress: 0,
        storedBytes: 0,
        rawBytes: 0,
        message: 'The backup was interrupted: the guest restarted while it was being made.',
      })
      .catch((error: unknown) =>
        logger.error({ err: error, backupId }, 'could not report the interrupted backup'),
      );
  }
}
