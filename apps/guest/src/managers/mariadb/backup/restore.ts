import { existsSync, lchownSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { type RestoreSpec } from '@coffer/contracts';
import { mariadbBackupDetailsSchema } from '@coffer/contracts/datastores/mariadb';
import { type Logger } from 'pino';

import { ToolFailedError } from '../../../backup/child-processes';
import { fetchVerifiedChain, type StagedBackup } from '../../../backup/fetch-chain';
import { writeRestoredFrom } from '../../../backup/restored-from';
import { TenantFacingError } from '../../../errors';
import { type MariadbLayout } from '../layout';
import { type ServerAccount } from '../server-account';
import {
  applyIncremental,
  mariadbBackupRestoreStrategy,
  moveBack,
  prepareBase,
} from './strategies/mariadb-backup';
import { importDump, mariadbDumpRestoreStrategy } from './strategies/mariadb-dump';
import { type BackupTools } from './tools';

/**
 * Fills a new volume from a backup chain (Trove's restore). The datastore-neutral backup
 * module fetches and verifies every chunk of the chain first (backup/fetch-chain.ts), handing
 * each verified stream to this datastore's strategy: a physical backup is unpacked as it
 * arrives into a scratch dir of the volume, a logical one kept compressed in a staging file.
 * Only when the whole chain passed is anything written to the datadir: the base prepared with
 * mariadb-backup (the incrementals applied in order), moved into a scratch datadir renamed
 * into place; a logical backup is fed to the server once it runs. A failure names the backup
 * and the chunk, and leaves no datadir (nor scratch dir) behind.
 *
 * A followed snapshot's manifest SHA-256 is kept with the datadir (`restored-from.json`), and
 * a replica is attached only when it is the one the control plane recorded for the snapshot.
 */

export interface RestoreContext {
  layout: MariadbLayout;
  guestSecret: string;
  /** This guest's datastore version name: a backup of another version is refused. */
  datastoreVersion: string;
  path: string;
  tools: () => BackupTools;
  logger: Logger;
  /** Aborted when the guest stops: the fetch ends at its next chunk (or poll). */
  signal?: AbortSignal;
}

export class VerifiedRestore {
  private constructor(
    private readonly ctx: RestoreContext,
    private readonly workDir: string,
    private readonly staged: StagedBackup[],
  ) {}

  get kind(): 'physical' | 'logical' {
    return this.staged[0]!.backup.type === 'LOGICAL' ? 'logical' : 'physical';
  }

  /** Fetches and verifies the whole chain into the scratch dir; nothing of it reaches the datadir yet. */
  static async fetch(ctx: RestoreContext, spec: RestoreSpec): Promise<VerifiedRestore> {
    const physical = mariadbBackupRestoreStrategy(ctx);
    const { workDir, staged } = await fetchVerifiedChain(
      {
        volumeDir: ctx.layout.volumeDir,
        guestSecret: ctx.guestSecret,
        datastore: {
          label: 'MariaDB',
          version: ctx.datastoreVersion,
          details: mariadbBackupDetailsSchema,
        },
        logger: ctx.logger,
        signal: ctx.signal,
        strategyFor: (backup) =>
          backup.type === 'LOGICAL' ? mariadbDumpRestoreStrategy : physical,
      },
      spec,
    );
    return new VerifiedRestore(ctx, workDir, staged);
  }

  /**
   * Physical: prepares the unpacked chain (incrementals in order) and moves it into
   * `layout.installDir`, which is renamed to the datadir when complete.
   */
  async writeDatadir(account: ServerAccount): Promise<void> {
    const { layout } = this.ctx;
    if (existsSync(join(layout.datadir, 'mysql'))) {
      throw new TenantFacingError(
        `The volume already holds a data directory (${layout.datadir}); refusing to restore over it.`,
      );
    }
    const found = { tools: this.ctx.tools(), path: this.ctx.path };
    try {
      const [base, ...incrementals] = this.staged.map(({ path }) => path);
      await prepareBase(found, base!);
      for (const incremental of incrementals) {
        await applyIncremental(found, base!, incremental);
        rmSync(incremental, { recursive: true, force: true });
      }
      rmSync(layout.installDir, { recursive: true, force: true });
      await moveBack(found, base!, layout.installDir);
      if (account.owner) chownTree(layout.installDir, account.owner.uid, account.owner.gid);
      writeRestoredFrom(layout, {
        backups: this.staged.map(({ backup, manifestSha256 }) => ({
          backupId: backup.backupId,
          manifestSha256,
        })),
      });
      renameSync(layout.installDir, layout.datadir);
      this.ctx.logger.info({ backups: this.staged.length }, 'datadir restored');
    } catch (error) {
      rmSync(layout.installDir, { recursive: true, force: true });
      if (error instanceof ToolFailedError) {
        throw new TenantFacingError(
          `Restoring backup ${this.staged.at(-1)!.backup.backupId} failed: ${error.message}`,
          error.details,
          { cause: error },
        );
      }
      throw error;
    } finally {
      this.remove();
    }
  }

  /** Logical: feeds the dump to the running server as the guest's account (its client option file). */
  async importInto(clientCnf: string): Promise<void> {
    const found = { tools: this.ctx.tools(), path: this.ctx.path };
    const { backup, path: staging } = this.staged[0]!;
    try {
      await importDump(found, backup.backupId, staging, clientCnf);
      this.ctx.logger.info({ backupId: backup.backupId }, 'logical backup imported');
    } finally {
      this.remove();
    }
  }

  remove(): void {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else lchownSync(child, uid, gid);
  }
}
