import { type CreateBackupParams } from '@coffer/contracts';

import { startDirectBackup } from '../../../backup/run-direct-backup';
import {
  startBackup as startNeutralBackup,
  type BackupJob,
  type BackupRun,
} from '../../../backup/run-backup';
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
  const job: BackupJob = {
    projectId: ctx.projectId,
    instanceId: ctx.instanceId,
    volumeDir: ctx.layout.volumeDir,
    guestSecret: ctx.guestSecret,
    datastore: { manager: 'mariadb', version: ctx.datastoreVersion, serverVersion },
    strategy: params.type === 'LOGICAL' ? mariadbDumpStrategy(ctx) : mariadbBackupStrategy(ctx),
    logger: ctx.logger,
    report: ctx.report,
  };
  // A replica's snapshot goes straight to its replicas' guests when the control plane says where.
  return params.direct
    ? startDirectBackup({ ...job, streamHost: ctx.streamHost ?? '127.0.0.1' }, params)
    : startNeutralBackup(job, params);
}
