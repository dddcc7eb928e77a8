import { createHash } from 'node:crypto';
import { existsSync, lchownSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

import {
  BACKUP_MANIFEST_NAME,
  backupManifestSchema,
  type BackupManifest,
  type RestoreBackup,
  type RestoreSpec,
} from '@coffer/contracts';
import { createObjectStore, ObjectNotFoundError, type ObjectStore } from '@coffer/objectstore';
import { type Logger } from 'pino';

import { TenantFacingError } from '../../datastore-manager';
import { type MariadbLayout } from '../layout';
import { type ServerAccount } from '../server-account';
import { openBackupAccess } from './backup-context';
import { ChunkVerificationError, openChunk } from './chunk-crypto';
import { awaitTools, startTool, ToolFailedError } from './child-processes';
import { type BackupTools } from './tools';

/**
 * Fills a new volume from a backup chain (Trove's restore): first every chunk of every
 * backup is fetched and checked (its size, its SHA-256 against the manifest, whose own
 * SHA-256 the control plane recorded, then its AES-256-GCM tag), and the verified
 * compressed stream is kept in a staging file on the volume. Only when all of them passed
 * is anything unpacked: physical backups with mbstream, prepared with mariadb-backup (the
 * incrementals applied in order), moved into a scratch datadir renamed into place; a
 * logical backup is fed to the server once it runs. A failure names the backup and the
 * chunk, and leaves no datadir behind.
 */

export interface RestoreContext {
  layout: MariadbLayout;
  guestSecret: string;
  /** This guest's datastore version name: a backup of another version is refused. */
  datastoreVersion: string;
  path: string;
  tools: () => BackupTools;
  logger: Logger;
}

/** Chunks fetched ahead while the previous ones are checked and written. */
const PREFETCH = 4;

interface StagedBackup {
  backup: RestoreBackup;
  manifest: BackupManifest;
  /** The verified, still compressed stream. */
  staging: string;
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

  /** Fetches and verifies the whole chain into staging files; nothing else is written. */
  static async fetch(ctx: RestoreContext, spec: RestoreSpec): Promise<VerifiedRestore> {
    const restorePoint = spec.backups.at(-1)!.backupId;
    const access = openBackupAccess(ctx.guestSecret, restorePoint, spec);
    const workDir = join(ctx.layout.volumeDir, 'restore-work');
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    const store = createObjectStore(access.store);
    const staged: StagedBackup[] = [];
    try {
      let previous: BackupManifest | null = null;
      for (const backup of spec.backups) {
        const manifest = await readManifest(store, backup, ctx.datastoreVersion);
        if (backup.type === 'INCREMENTAL' && manifest.parent?.backupId !== previous?.backupId) {
          throw new TenantFacingError(
            `Backup ${backup.backupId} is not based on backup ${previous?.backupId ?? '(none)'}: the chain is broken.`,
          );
        }
        const staging = join(workDir, `${backup.backupId}.zst`);
        const startedAt = Date.now();
        await fetchChunks(store, access.key, backup, manifest, staging);
        ctx.logger.info(
          { backupId: backup.backupId, chunks: manifest.chunks.length, ms: Date.now() - startedAt },
          'backup fetched and verified',
        );
        staged.push({ backup, manifest, staging });
        previous = manifest;
      }
      return new VerifiedRestore(ctx, workDir, staged);
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      if (error instanceof TenantFacingError) throw error;
      if (error instanceof ChunkVerificationError)
        throw new TenantFacingError(error.message, undefined, { cause: error });
      throw new TenantFacingError(
        `Restoring the backup failed: ${(error as Error).message}`,
        undefined,
        { cause: error },
      );
    } finally {
      await store.close();
    }
  }

  /**
   * Physical: unpacks the chain, prepares it (incrementals in order) and moves it into
   * `layout.installDir`, which is renamed to the datadir when complete.
   */
  async writeDatadir(account: ServerAccount): Promise<void> {
    const { layout } = this.ctx;
    if (existsSync(join(layout.datadir, 'mysql'))) {
      throw new TenantFacingError(
        `The volume already holds a data directory (${layout.datadir}); refusing to restore over it.`,
      );
    }
    const tools = this.ctx.tools();
    const env = { PATH: this.ctx.path };
    const dirs: string[] = [];
    try {
      for (const { backup, staging } of this.staged) {
        const dir = join(this.workDir, backup.backupId);
        mkdirSync(dir, { recursive: true });
        const zstd = startTool('zstd', tools.zstd, ['-q', '-d', '-c', staging], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env,
        });
        const mbstream = startTool('mbstream', tools.mbstream, ['-x', '-C', dir], {
          stdio: [zstd.child.stdout!, 'ignore', 'pipe'],
          env,
        });
        zstd.child.stdout!.destroy();
        await awaitTools([zstd, mbstream]);
        rmSync(staging, { force: true });
        dirs.push(dir);
      }
      const [base, ...incrementals] = dirs;
      await awaitTools([
        startTool(
          'mariadb-backup --prepare',
          tools.mariadbBackup,
          ['--no-defaults', '--prepare', `--target-dir=${base}`],
          { stdio: ['ignore', 'ignore', 'pipe'], env },
        ),
      ]);
      for (const incremental of incrementals) {
        await awaitTools([
          startTool(
            'mariadb-backup --prepare --incremental-dir',
            tools.mariadbBackup,
            [
              '--no-defaults',
              '--prepare',
              `--target-dir=${base}`,
              `--incremental-dir=${incremental}`,
            ],
            {
              stdio: ['ignore', 'ignore', 'pipe'],
              env,
            },
          ),
        ]);
        rmSync(incremental, { recursive: true, force: true });
      }
      rmSync(layout.installDir, { recursive: true, force: true });
      await awaitTools([
        startTool(
          'mariadb-backup --move-back',
          tools.mariadbBackup,
          [
            '--no-defaults',
            '--move-back',
            `--target-dir=${base}`,
            `--datadir=${layout.installDir}`,
          ],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
            env,
          },
        ),
      ]);
      if (account.owner) chownTree(layout.installDir, account.owner.uid, account.owner.gid);
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
    const tools = this.ctx.tools();
    const env = { PATH: this.ctx.path };
    const { backup, staging } = this.staged[0]!;
    try {
      const zstd = startTool('zstd', tools.zstd, ['-q', '-d', '-c', staging], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      });
      const client = startTool(
        'mariadb',
        tools.mariadbClient,
        [`--defaults-file=${clientCnf}`, '--binary-mode', '--max-allowed-packet=1G'],
        {
          stdio: [zstd.child.stdout!, 'ignore', 'pipe'],
          env,
        },
      );
      zstd.child.stdout!.destroy();
      await awaitTools([zstd, client]);
      this.ctx.logger.info({ backupId: backup.backupId }, 'logical backup imported');
    } catch (error) {
      if (error instanceof ToolFailedError) {
        throw new TenantFacingError(
          `Restoring backup ${backup.backupId} failed: ${error.message}`,
          error.details,
          { cause: error },
        );
      }
      throw error;
    } finally {
      this.remove();
    }
  }

  remove(): void {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

async function readManifest(
  store: ObjectStore,
  backup: RestoreBackup,
  datastoreVersion: string,
): Promise<BackupManifest> {
  let bytes: Buffer;
  try {
    bytes = await store.get(`${backup.location}${BACKUP_MANIFEST_NAME}`);
  } catch (error) {
    if (error instanceof ObjectNotFoundError)
      throw new TenantFacingError(
        `Backup ${backup.backupId}: its manifest is missing from the object store.`,
      );
    throw error;
  }
  if (createHash('sha256').update(bytes).digest('hex') !== backup.manifestSha256) {
    throw new TenantFacingError(
      `Backup ${backup.backupId}: its manifest is damaged (its SHA-256 is not the one recorded when the backup completed).`,
    );
  }
  const parsed = backupManifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (
    !parsed.success ||
    parsed.data.backupId !== backup.backupId ||
    parsed.data.type !== backup.type
  ) {
    throw new TenantFacingError(
      `Backup ${backup.backupId}: its manifest does not describe this backup.`,
    );
  }
  if (parsed.data.datastore.version !== datastoreVersion) {
    throw new TenantFacingError(
      `Backup ${backup.backupId} was made with MariaDB ${parsed.data.datastore.version}; this instance runs ${datastoreVersion}.`,
    );
  }
  return parsed.data;
}

/** Every chunk in order (a few fetched ahead), verified, its plaintext appended to `staging`. */
async function fetchChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  manifest: BackupManifest,
  staging: string,
): Promise<void> {
  const file = await open(staging, 'w', 0o600);
  try {
    const fetching = new Map<number, Promise<Buffer>>();
    const fetchChunk = (index: number) => {
      const chunk = manifest.chunks[index]!;
      const promise = store.get(`${backup.location}${chunk.name}`).catch((error: unknown) => {
        if (error instanceof ObjectNotFoundError) {
          throw new TenantFacingError(
            `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) is missing from the object store.`,
          );
        }
        throw new TenantFacingError(
          `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) could not be read: ${(error as Error).message}`,
        );
      });
      promise.catch(() => undefined);
      fetching.set(index, promise);
    };
    for (let index = 0; index < Math.min(PREFETCH, manifest.chunks.length); index++)
      fetchChunk(index);
    for (let index = 0; index < manifest.chunks.length; index++) {
      const stored = await fetching.get(index)!;
      fetching.delete(index);
      if (index + PREFETCH < manifest.chunks.length) fetchChunk(index + PREFETCH);
      const plaintext = openChunk(key, backup.backupId, manifest.chunks[index]!, stored);
      for (let offset = 0; offset < plaintext.length;) {
        offset += (await file.write(plaintext, offset, plaintext.length - offset)).bytesWritten;
      }
    }
  } finally {
    await file.close();
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
