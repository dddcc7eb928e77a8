import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type BackupReport } from '@coffer/contracts';
import { type Connection } from 'mysql2/promise';
import { type Logger } from 'pino';

import { makeScratchDir } from '../../../backup/work-dir';
import { type AdminCredentials } from '../admin-connection';
import { type MariadbLayout } from '../layout';
import { type BackupTools } from './tools';

/** What backups and restores need from the manager (passed in, so this code loads only when used). */
export interface BackupContext {
  instanceId: string;
  projectId: string;
  /** The datastore version name, e.g. "10.11". */
  datastoreVersion: string;
  layout: MariadbLayout;
  guestSecret: string;
  path: string;
  tools: () => BackupTools;
  logger: Logger;
  /** A connection as the guest's account (which it makes or repairs first). */
  connectAsAdmin: () => Promise<Connection>;
  /** The guest's account, valid once connectAsAdmin has succeeded. */
  adminCredentials: () => AdminCredentials;
  /** Sends a backup report to the conductor. */
  report: (report: BackupReport) => Promise<void>;
  /** Where a replica's direct stream listens (the database server's bind address). */
  streamHost?: string;
}

/** What running the MariaDB tools needs: where they are, and the PATH they run with. */
export type ToolEnv = Pick<BackupContext, 'tools' | 'path'>;

/** The tools found once for the steps of one operation, and the PATH they run with. */
export interface FoundTools {
  tools: BackupTools;
  path: string;
}

/**
 * A scratch directory on the volume for one operation (never the shared /tmp), with a
 * client option file for the tools: it includes the server's my.cnf (so mariadb-backup
 * finds the datadir and InnoDB settings) and adds the guest's account, so no password ever
 * appears on a command line. Removed when the operation ends.
 */
export function makeWorkDir(
  ctx: Pick<BackupContext, 'layout' | 'adminCredentials'>,
  name: string,
): { dir: string; clientCnf: string; remove: () => void } {
  const { dir, remove } = makeScratchDir(ctx.layout.volumeDir, name);
  const clientCnf = join(dir, 'client.cnf');
  const { user, password } = ctx.adminCredentials();
  writeFileSync(
    clientCnf,
    [
      `!include ${ctx.layout.myCnf}`,
      '[client]',
      `user = ${user}`,
      `password = ${password}`,
      `socket = ${ctx.layout.socket}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { dir, clientCnf, remove };
}

/** Before a backup's tools run: the guest's account must exist and answer, then their scratch dir. */
export async function prepareTools(
  ctx: BackupContext,
  backupId: string,
): Promise<ReturnType<typeof makeWorkDir>> {
  await (await ctx.connectAsAdmin()).end();
  return makeWorkDir(ctx, backupId);
}
