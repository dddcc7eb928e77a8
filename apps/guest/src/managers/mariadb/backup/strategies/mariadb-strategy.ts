import {
  mariadbIncrementalBase,
  type MariadbBackupDetails,
  type MariadbBackupTool,
} from '@coffer/contracts/datastores/mariadb';

import { type BackupStrategy, type BackupStreamRun } from '../../../../backup/strategy';
import { prepareTools, type BackupContext } from '../backup-context';
import { type BackupTools } from '../tools';

/** What a MariaDB tool's run tells: the stream's size, and where the server was. */
export type MariadbStreamOutcome = MariadbBackupDetails & { rawBytes: number };

/**
 * A MariaDB backup strategy around one tool's run: before it, the guest's account answers and
 * the run has its scratch dir (with the client option file); after it, what it recorded goes
 * both to the conductor's report and into the manifest as `details`, and its checkpoint LSN
 * `to` is what an incremental of it continues from (`incrementalBase`).
 */
export function mariadbStrategy(
  ctx: BackupContext,
  tool: MariadbBackupTool,
  run: (
    work: Awaited<ReturnType<typeof prepareTools>>,
    tools: BackupTools,
    stream: BackupStreamRun,
  ) => Promise<MariadbStreamOutcome>,
): BackupStrategy {
  return {
    name: tool,
    prepare: async (backupId) => {
      const work = await prepareTools(ctx, backupId);
      return {
        remove: work.remove,
        stream: async (stream) => {
          const { rawBytes, lsn, binlog, gtid } = await run(work, ctx.tools(), stream);
          const details: MariadbBackupDetails = { lsn, binlog, gtid };
          return { rawBytes, details, incrementalBase: mariadbIncrementalBase(details) };
        },
      };
    },
  };
}
