import { createHash } from 'node:crypto';
import { existsSync, lchownSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';

import {
  BACKUP_MANIFEST_NAME,
  backupChunkInfoName,
  backupChunkName,
  backupChunkSchema,
  backupManifestSchema,
  type BackupChunk,
  type BackupManifest,
  type RestoreBackup,
  type RestoreSpec,
} from '@coffer/contracts';
import { writeFileAtomic } from '@coffer/host';
import { createObjectStore, ObjectNotFoundError, type ObjectStore } from '@coffer/objectstore';
import { type Logger } from 'pino';

import { StoppedByShutdownError, TenantFacingError } from '../../datastore-manager';
import { type MariadbLayout } from '../layout';
import { type ServerAccount } from '../server-account';
import { openBackupAccess } from './backup-context';
import { restoredFromPath, type RestoredFrom } from './restored-from';
import { ChunkVerificationError, openChunk } from './chunk-crypto';
import { awaitTools, startTool, ToolFailedError } from './child-processes';
import { type BackupTools } from './tools';

/**
 * Fills a new volume from a backup chain (Trove's restore). First every chunk of every
 * backup is fetched (a few ahead) and checked: its size, its SHA-256 against the manifest
 * (whose own SHA-256 the control plane recorded when the backup completed), then its
 * AES-256-GCM tag. A chunk's bytes go on only once it passed: a physical backup's stream is
 * unpacked as it arrives (zstd -d | mbstream -x) into a scratch dir of the volume, a logical
 * one is kept compressed in a staging file. Only when the whole chain passed is anything
 * written to the datadir: the base prepared with mariadb-backup (the incrementals applied in
 * order), moved into a scratch datadir renamed into place; a logical backup is fed to the
 * server once it runs. A failure names the backup and the chunk, and leaves no datadir (nor
 * scratch dir) behind.
 *
 * A full backup still being written (a replica's snapshot: `manifestSha256` null) is followed:
 * each chunk is unpacked as soon as it and its entry are stored, after its size, SHA-256 and
 * tag passed against that entry; when the manifest appears, every entry must be the
 * manifest's. Its SHA-256 is kept with the datadir (`restored-from.json`), and a replica is
 * attached only when it is the one the control plane recorded for the snapshot.
 */

/** How long a followed backup may go without a new chunk before the restore gives up. */
const FOLLOW_STALL_MS = 10 * 60_000;
const FOLLOW_POLL_MAX_MS = 250;

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

/** Chunks fetched ahead while the previous ones are checked and written. */
const PREFETCH = 4;

interface StagedBackup {
  backup: RestoreBackup;
  manifest: BackupManifest;
  manifestSha256: string;
  /** Physical: where its verified stream was unpacked. Logical: the verified, still compressed stream. */
  path: string;
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
        const startedAt = Date.now();
        let manifest: BackupManifest;
        let manifestSha256: string;
        let path: string;
        if (backup.manifestSha256 === null) {
          // Followed while it is written: the manifest comes at the end.
          let followed: { manifest: BackupManifest; manifestSha256: string } | null = null;
          path = await unpackToDir(ctx, backup, join(workDir, backup.backupId), async (sink) => {
            followed = await followChunks(store, access.key, backup, ctx, sink);
          });
          ({ manifest, manifestSha256 } = followed!);
        } else {
          manifest = await readManifest(store, backup, ctx.datastoreVersion);
          manifestSha256 = backup.manifestSha256;
          if (backup.type === 'INCREMENTAL' && manifest.parent?.backupId !== previous?.backupId) {
            throw new TenantFacingError(
              `Backup ${backup.backupId} is not based on backup ${previous?.backupId ?? '(none)'}: the chain is broken.`,
            );
          }
          const chunks = manifest;
          const feed: ChunkFeed = (sink) =>
            fetchChunks(store, access.key, backup, chunks, sink, ctx.signal);
          path =
            backup.type === 'LOGICAL'
              ? await stageToFile(feed, join(workDir, `${backup.backupId}.zst`))
              : await unpackToDir(ctx, backup, join(workDir, backup.backupId), feed);
        }
        ctx.logger.info(
          {
            backupId: backup.backupId,
            chunks: manifest.chunks.length,
            ms: Date.now() - startedAt,
            isFollowed: backup.manifestSha256 === null,
          },
          'backup fetched and verified',
        );
        staged.push({ backup, manifest, manifestSha256, path });
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
      for (const { path } of this.staged) dirs.push(path);
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
      const restoredFrom: RestoredFrom = {
        backups: this.staged.map(({ backup, manifestSha256 }) => ({
          backupId: backup.backupId,
          manifestSha256,
        })),
      };
      writeFileAtomic(restoredFromPath(layout), JSON.stringify(restoredFrom), 0o600);
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
    const { backup, path: staging } = this.staged[0]!;
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
  return parseManifest(bytes, backup, datastoreVersion);
}

/** A manifest that describes this backup, of this guest's datastore version. */
function parseManifest(
  bytes: Buffer,
  backup: RestoreBackup,
  datastoreVersion: string,
): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = null;
  }
  const parsed = backupManifestSchema.safeParse(json);
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

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StoppedByShutdownError('The restore');
}

/** Gives a backup's verified plaintext, chunk after chunk, to `sink`. */
type ChunkFeed = (sink: (plaintext: Buffer) => Promise<void>) => Promise<void>;

async function getIfStored(store: ObjectStore, name: string): Promise<Buffer | null> {
  try {
    return await store.get(name);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

async function getChunk(
  store: ObjectStore,
  backup: RestoreBackup,
  chunk: Pick<BackupChunk, 'index' | 'name'>,
): Promise<Buffer> {
  try {
    return await store.get(`${backup.location}${chunk.name}`);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new TenantFacingError(
        `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) is missing from the object store.`,
      );
    }
    throw new TenantFacingError(
      `Backup ${backup.backupId}: chunk ${chunk.index} (${chunk.name}) could not be read: ${(error as Error).message}`,
    );
  }
}

/**
 * A full backup followed while it is written: each chunk once it and its entry are stored
 * (checked against that entry before its plaintext goes to `sink`), until the manifest is
 * there; the rest by the manifest. Every entry followed must be the manifest's. Returns the
 * manifest and its SHA-256 (for the control plane to match against what it recorded).
 */
async function followChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  ctx: Pick<RestoreContext, 'datastoreVersion' | 'signal'>,
  sink: (plaintext: Buffer) => Promise<void>,
): Promise<{ manifest: BackupManifest; manifestSha256: string }> {
  const { datastoreVersion, signal } = ctx;
  const followed: BackupChunk[] = [];
  let lastProgressAt = Date.now();
  let pauseMs = 10;
  for (;;) {
    throwIfStopped(signal);
    const index = followed.length;
    const info = await getIfStored(store, `${backup.location}${backupChunkInfoName(index)}`);
    if (info) {
      const entry = backupChunkSchema.safeParse(JSON.parse(info.toString('utf8')) as unknown);
      if (
        !entry.success ||
        entry.data.index !== index ||
        entry.data.name !== backupChunkName(index)
      ) {
        throw new TenantFacingError(
          `Backup ${backup.backupId}: the entry of chunk ${index} is damaged.`,
        );
      }
      await sink(
        openChunk(key, backup.backupId, entry.data, await getChunk(store, backup, entry.data)),
      );
      followed.push(entry.data);
      lastProgressAt = Date.now();
      pauseMs = 10;
      continue;
    }
    const manifestBytes = await getIfStored(store, `${backup.location}${BACKUP_MANIFEST_NAME}`);
    if (manifestBytes) {
      const manifest = parseManifest(manifestBytes, backup, datastoreVersion);
      if (manifest.chunks.length < index) {
        throw new TenantFacingError(
          `Backup ${backup.backupId}: its manifest lists ${manifest.chunks.length} chunks, but ${index} were stored.`,
        );
      }
      for (const [at, entry] of followed.entries()) {
        const listed = manifest.chunks[at]!;
        if (JSON.stringify(listed) !== JSON.stringify(entry)) {
          throw new TenantFacingError(
            `Backup ${backup.backupId}: chunk ${at} (${entry.name}) is not the one its manifest lists.`,
          );
        }
      }
      for (const entry of manifest.chunks.slice(index)) {
        await sink(openChunk(key, backup.backupId, entry, await getChunk(store, backup, entry)));
      }
      return {
        manifest,
        manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
      };
    }
    if (Date.now() - lastProgressAt > FOLLOW_STALL_MS) {
      throw new TenantFacingError(
        `Backup ${backup.backupId}: nothing more was stored for ${FOLLOW_STALL_MS / 60_000} minutes after chunk ${index - 1}; the backup seems to have stopped.`,
      );
    }
    await new Promise((tick) => setTimeout(tick, pauseMs));
    pauseMs = Math.min(pauseMs * 2, FOLLOW_POLL_MAX_MS);
  }
}

/** Every chunk in order (a few fetched ahead), each verified before its plaintext goes to `sink`. */
async function fetchChunks(
  store: ObjectStore,
  key: Buffer,
  backup: RestoreBackup,
  manifest: BackupManifest,
  sink: (plaintext: Buffer) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const fetching = new Map<number, Promise<Buffer>>();
  const fetchChunk = (index: number) => {
    const promise = getChunk(store, backup, manifest.chunks[index]!);
    promise.catch(() => undefined);
    fetching.set(index, promise);
  };
  for (let index = 0; index < Math.min(PREFETCH, manifest.chunks.length); index++)
    fetchChunk(index);
  for (let index = 0; index < manifest.chunks.length; index++) {
    throwIfStopped(signal);
    const stored = await fetching.get(index)!;
    fetching.delete(index);
    if (index + PREFETCH < manifest.chunks.length) fetchChunk(index + PREFETCH);
    await sink(openChunk(key, backup.backupId, manifest.chunks[index]!, stored));
  }
}

/** A logical backup's verified stream, kept compressed in a staging file until the server can take it. */
async function stageToFile(feed: ChunkFeed, staging: string): Promise<string> {
  const file = await open(staging, 'w', 0o600);
  try {
    await feed(async (plaintext) => {
      for (let offset = 0; offset < plaintext.length;) {
        offset += (await file.write(plaintext, offset, plaintext.length - offset)).bytesWritten;
      }
    });
  } finally {
    await file.close();
  }
  return staging;
}

/**
 * A physical backup's verified stream, unpacked as it arrives (`zstd -d | mbstream -x`) into
 * a scratch dir of the volume: each chunk passes its checks before any of its bytes reach
 * the unpacker, and nothing reaches the datadir before every chunk of the chain has.
 */
async function unpackToDir(
  ctx: RestoreContext,
  backup: RestoreBackup,
  dir: string,
  feed: ChunkFeed,
): Promise<string> {
  const tools = ctx.tools();
  const env = { PATH: ctx.path };
  mkdirSync(dir, { recursive: true });
  const zstd = startTool('zstd', tools.zstd, ['-q', '-d', '-c'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  const mbstream = startTool('mbstream', tools.mbstream, ['-x', '-C', dir], {
    stdio: [zstd.child.stdout!, 'ignore', 'pipe'],
    env,
  });
  zstd.child.stdout!.destroy();
  const stdin = zstd.child.stdin!;
  // A stopped unpacker shows as its tool's failure, not as an error on this pipe.
  stdin.on('error', () => undefined);
  const unpacked = awaitTools([zstd, mbstream]);
  unpacked.catch(() => undefined);
  try {
    await feed(async (plaintext) => {
      if (stdin.write(plaintext)) return;
      await Promise.race([
        once(stdin, 'drain'),
        unpacked.then(() => {
          throw new Error('the unpacker stopped before the end of the stream');
        }),
      ]);
    });
    stdin.end();
    await unpacked;
  } catch (error) {
    zstd.stop();
    mbstream.stop();
    if (error instanceof ToolFailedError) {
      throw new TenantFacingError(
        `Restoring backup ${backup.backupId} failed: ${error.message}`,
        error.details,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  return dir;
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else lchownSync(child, uid, gid);
  }
}
