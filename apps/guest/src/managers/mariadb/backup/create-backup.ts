import { type CreateBackupParams } from '@coffer/contracts';

import { startBackup as startNeutralBackup, type BackupRun } from '../../../backup/run-backup';
import { type BackupContext } from './backup-context';
import { mariadbBackupStrategy } from './strategies/mariadb-backup';
import { mariadbDumpStrategy } from './strategies/mariadb-dump';

export { type BackupRun } from '../../../backup/run-backup';

/**
 * Makes one backup of the MariaDB server (Trove's backup strategies: mariadb-backup for full
 * and incremental, mariadb-dump for logical) with the datastore-neutral backup module, which
 * chunks, seals, stores it and writes its manifest.
 */
export function startBackup(
  ctx: BackupContext,
  params: CreateBackupParams,
  serverVersion: string | null,
): BackupRun {
  return startNeutralBackup(
    {
      projectId: ctx.projectId,
      instanceId: ctx.instanceId,
      volumeDir: ctx.layout.volumeDir,
      guestSecret: ctx.guestSecret,
      datastore: { manager: 'mariadb', version: ctx.datastoreVersion, serverVersion },
      strategy: params.type === 'LOGICAL' ? mariadbDumpStrategy(ctx) : mariadbBackupStrategy(ctx),
      logger: ctx.logger,
      report: ctx.report,
    },
    params,
  );
}
