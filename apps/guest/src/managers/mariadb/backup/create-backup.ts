import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

import {
  BACKUP_MANIFEST_FORMAT,
  BACKUP_MANIFEST_NAME,
  BACKUP_STRATEGIES,
  isReservedUserName,
  SYSTEM_SCHEMAS,
  type BackupManifest,
  type BackupReport,
  type CreateBackupParams,
} from '@coffer/contracts';
import { createObjectStore, type ObjectStore } from '@coffer/objectstore';
import { type RowDataPacket } from 'mysql2/promise';

import { TenantFacingError } from '../../datastore-manager';
import {
  clearBackupRunning,
  isBackupAbandoned,
  makeWorkDir,
  markBackupRunning,
  openBackupAccess,
  type BackupContext,
} from './backup-context';
import {
  awaitTools,
  readIoCounters,
  startTool,
  ToolFailedError,
  type Tool,
} from './child-processes';
import { ChunkWriter } from './chunk-writer';

/**
 * Makes one backup (Trove's backup strategies: mariadb-backup for full and incremental,
 * mariadb-dump for logical) and stores it:
 *
 *   mariadb-backup --stream=xbstream ──pipe──▶ zstd -T0 ──▶ guest: fixed-size chunks →
 *   AES-256-GCM (fresh IV) → SHA-256 → object store, at most N uploads in flight
 *
 * The manifest (chunks with sizes, hashes, IVs and tags; LSNs; binlog position and GTID;
 * parent; datastore version) is written last: a backup without one is incomplete. Progress
 * goes to the conductor about once a second; the end (COMPLETED with what the manifest says,
 * or FAILED with a reason) always. On failure every object already stored is removed.
 */

const PROGRESS_INTERVAL_MS = 1000;
/** zstd on every core, at the level the control plane chose (contracts: DEFAULT_BACKUP_ZSTD_LEVEL). */
function zstdArgs(level: number): string[] {
  return ['-q', `-${level}`, '-T0', '-c'];
}

interface StreamOutcome {
  rawBytes: number;
  lsn: BackupManifest['lsn'];
  binlog: BackupManifest['binlog'];
  gtid: string | null;
}

class Progress {
  private lastSentAt = 0;
  private lastPercent = -1;
  private sending: Promise<void> = Promise.resolve();
  storedBytes = 0;
  rawBytes = 0;

  constructor(
    private readonly ctx: BackupContext,
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
      .then(() => this.ctx.report(report))
      .catch((error: unknown) => this.ctx.logger.warn({ err: error }, 'backup progress not sent'));
  }

  /** The final report: retried, because the control plane waits for it. */
  async finish(report: BackupReport): Promise<void> {
    await this.sending;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ctx.report(report);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        this.ctx.logger.warn({ err: error, attempt }, 'backup report not sent; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }
}

/** The bytes mariadb-backup will read, about: the datadir without binary logs, redo log and temporary tablespace. */
function estimateDatadirBytes(datadir: string): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.isFile() &&
        !/^(mysql-bin\.|ib_logfile|ibtmp|.*\.err$|.*\.pid$)/.test(entry.name)
      ) {
        try {
          total += statSync(path).size;
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  try {
    walk(datadir);
  } catch {
    return 0;
  }
  return total;
}

function parseKeyValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) values.set(match[1], match[2] ?? '');
  }
  return values;
}

/** LSNs, binlog position and GTID from the files mariadb-backup left in --extra-lsndir. */
export function readPhysicalMetadata(
  lsnDir: string,
): Pick<StreamOutcome, 'lsn' | 'binlog' | 'gtid'> {
  const checkpoints = parseKeyValues(readFileSync(join(lsnDir, 'xtrabackup_checkpoints'), 'utf8'));
  const from = checkpoints.get('from_lsn');
  const to = checkpoints.get('to_lsn');
  const last = checkpoints.get('last_lsn');
  if (!from || !to || !last || ![from, to, last].every((lsn) => /^[0-9]+$/.test(lsn))) {
    throw new Error('mariadb-backup left no checkpoint LSNs');
  }
  let binlog: StreamOutcome['binlog'] = null;
  let gtid: string | null = null;
  try {
    const info = parseKeyValues(readFileSync(join(lsnDir, 'xtrabackup_info'), 'utf8'));
    // e.g. filename 'mysql-bin.000001', position '845', GTID of the last change '0-7-3'
    const match =
      /filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(
        info.get('binlog_pos') ?? '',
      );
    if (match?.[1] && match[2]) {
      binlog = { file: match[1], position: Number(match[2]) };
      gtid = match[3] || null;
    }
  } catch {
    // No binary log position (a server without log-bin): nothing to record.
  }
  return { lsn: { from, to, last }, binlog, gtid };
}

async function streamPhysical(
  ctx: BackupContext,
  params: CreateBackupParams,
  work: { dir: string; clientCnf: string },
  writer: ChunkWriter,
  progress: Progress,
  running: Set<Tool>,
): Promise<StreamOutcome> {
  const tools = ctx.tools();
  const lsnDir = join(work.dir, 'lsn');
  const args = [
    `--defaults-file=${work.clientCnf}`,
    '--backup',
    '--stream=xbstream',
    `--target-dir=${join(work.dir, 'target')}`,
    `--extra-lsndir=${lsnDir}`,
    ...(params.type === 'INCREMENTAL' && params.parent
      ? [`--incremental-lsn=${params.parent.toLsn}`]
      : []),
  ];
  const env = { PATH: ctx.path };
  const backup = startTool('mariadb-backup', tools.mariadbBackup, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    cwd: work.dir,
  });
  running.add(backup);
  // mariadb-backup writes straight into zstd; only the compressed stream reaches the guest.
  const zstd = startTool('zstd', tools.zstd, zstdArgs(params.compressionLevel), {
    stdio: [backup.child.stdout!, 'pipe', 'pipe'],
    env,
  });
  running.add(zstd);
  backup.child.stdout!.destroy();

  const total = estimateDatadirBytes(ctx.layout.datadir);
  let written = 0;
  const sample = () => {
    const io = readIoCounters(backup.child.pid);
    if (!io) return;
    written = io.wchar;
    progress.rawBytes = written;
    progress.update(total > 0 ? (100 * io.rchar) / total : 0);
  };
  const timer = setInterval(sample, PROGRESS_INTERVAL_MS / 2);
  try {
    for await (const data of zstd.child.stdout! as AsyncIterable<Buffer>) {
      await writer.write(data);
    }
    sample();
    await awaitTools([backup, zstd]);
  } catch (error) {
    backup.stop();
    zstd.stop();
    throw error;
  } finally {
    clearInterval(timer);
  }
  return { rawBytes: written, ...readPhysicalMetadata(lsnDir) };
}

/** The tenant's accounts as SQL (CREATE OR REPLACE USER, then GRANTs): the guest's, root and system accounts left out. */
async function dumpAccounts(ctx: BackupContext): Promise<string> {
  const connection = await ctx.connectAsAdmin();
  try {
    const [users] = await connection.query<RowDataPacket[]>(
      "SELECT User AS user, Host AS host FROM mysql.user WHERE User <> '' ORDER BY User, Host",
    );
    const lines = ['-- Coffer logical backup: the accounts of the instance', ''];
    for (const row of users) {
      const user = String(row.user);
      const host = String(row.host);
      if (isReservedUserName(user)) continue;
      const [created] = await connection.query<RowDataPacket[]>('SHOW CREATE USER ?@?', [
        user,
        host,
      ]);
      const createSql = String(Object.values(created[0] ?? {})[0] ?? '');
      if (!/^CREATE USER /.test(createSql)) continue;
      lines.push(`${createSql.replace(/^CREATE USER /, 'CREATE OR REPLACE USER ')};`);
      const [grants] = await connection.query<RowDataPacket[]>('SHOW GRANTS FOR ?@?', [user, host]);
      for (const grant of grants) lines.push(`${String(Object.values(grant)[0])};`);
    }
    lines.push('', '');
    return lines.join('\n');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function tenantSchemas(ctx: BackupContext): Promise<{ names: string[]; bytes: number }> {
  const connection = await ctx.connectAsAdmin();
  try {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT s.SCHEMA_NAME AS name, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS bytes
         FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
        GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME`,
    );
    const system = new Set<string>(SYSTEM_SCHEMAS);
    const tenant = rows.filter((row) => !system.has(String(row.name).toLowerCase()));
    return {
      names: tenant.map((row) => String(row.name)),
      bytes: tenant.reduce((sum, row) => sum + Number(row.bytes), 0),
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function streamLogical(
  ctx: BackupContext,
  compressionLevel: number,
  work: { dir: string; clientCnf: string },
  writer: ChunkWriter,
  progress: Progress,
  running: Set<Tool>,
): Promise<StreamOutcome> {
  const tools = ctx.tools();
  const env = { PATH: ctx.path };
  const accounts = await dumpAccounts(ctx);
  const schemas = await tenantSchemas(ctx);
  const zstd = startTool('zstd', tools.zstd, zstdArgs(compressionLevel), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  running.add(zstd);

  let rawBytes = 0;
  let head = '';
  const counter = new Transform({
    transform(data: Buffer, _encoding, done) {
      rawBytes += data.length;
      // The dump's header says where the binary log was at its consistent point.
      if (head.length < 64 * 1024)
        head += data.toString('utf8', 0, Math.min(data.length, 64 * 1024));
      progress.rawBytes = rawBytes;
      progress.update(schemas.bytes > 0 ? (100 * rawBytes) / schemas.bytes : 0);
      done(null, data);
    },
  });

  const feed = (async () => {
    zstd.child.stdin!.write(accounts);
    rawBytes += Buffer.byteLength(accounts);
    if (schemas.names.length === 0) {
      zstd.child.stdin!.end();
      return;
    }
    const dump = startTool(
      'mariadb-dump',
      tools.mariadbDump,
      [
        `--defaults-file=${work.clientCnf}`,
        '--single-transaction',
        '--quick',
        '--routines',
        '--events',
        '--triggers',
        '--hex-blob',
        '--master-data=2',
        '--gtid',
        '--databases',
        ...schemas.names,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: work.dir },
    );
    running.add(dump);
    await Promise.all([pipeline(dump.child.stdout!, counter, zstd.child.stdin!), dump.done]);
  })();
  feed.catch(() => zstd.stop());

  try {
    for await (const data of zstd.child.stdout! as AsyncIterable<Buffer>) {
      await writer.write(data);
    }
    await feed;
    await zstd.done;
  } catch (error) {
    for (const tool of running) tool.stop();
    throw error;
  }
  const file = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(head);
  const gtid = /gtid_slave_pos='([^']*)'/.exec(head);
  return {
    rawBytes,
    lsn: null,
    binlog: file?.[1] && file[2] ? { file: file[1], position: Number(file[2]) } : null,
    gtid: gtid?.[1] || null,
  };
}

export interface BackupRun {
  /** Stops the tools (the guest is stopping): the backup fails and cleans up. */
  interrupt(): void;
  done: Promise<{ manifestSha256: string }>;
}

function describe(error: unknown): { message: string; details?: string } {
  if (error instanceof TenantFacingError) return { message: error.message, details: error.details };
  if (error instanceof ToolFailedError)
    return { message: `The backup failed: ${error.message}`, details: error.details };
  return {
    message: `The backup failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

export function startBackup(
  ctx: BackupContext,
  params: CreateBackupParams,
  serverVersion: string | null,
): BackupRun {
  const running = new Set<Tool>();
  let isInterrupted = false;
  const done = runBackup(ctx, params, serverVersion, running, () => isInterrupted);
  return {
    interrupt: () => {
      isInterrupted = true;
      for (const tool of running) tool.stop();
    },
    done,
  };
}

async function runBackup(
  ctx: BackupContext,
  params: CreateBackupParams,
  serverVersion: string | null,
  running: Set<Tool>,
  isInterrupted: () => boolean,
): Promise<{ manifestSha256: string }> {
  const { backupId, location } = params;
  const log = ctx.logger.child({ backupId, type: params.type });
  if (isBackupAbandoned(ctx.layout, backupId)) {
    // A job handed back to a restarted guest: this backup was already reported FAILED.
    throw new TenantFacingError(
      `Backup ${backupId} was interrupted by a guest restart and is not made again.`,
    );
  }
  const progress = new Progress(ctx, backupId);
  const startedAt = new Date();
  let store: ObjectStore | null = null;
  let writer: ChunkWriter | null = null;
  let work: ReturnType<typeof makeWorkDir> | null = null;
  markBackupRunning(ctx.layout, backupId);
  try {
    const access = openBackupAccess(ctx.guestSecret, backupId, params);
    store = createObjectStore(access.store);
    // The guest's account must exist and answer before the tools use it.
    await (await ctx.connectAsAdmin()).end();
    work = makeWorkDir(ctx, backupId);
    progress.update(0, { force: true });
    writer = new ChunkWriter({
      store,
      location,
      key: access.key,
      backupId,
      chunkBytes: params.chunkBytes,
      concurrency: params.uploadConcurrency,
      onStored: (storedBytes) => (progress.storedBytes = storedBytes),
      isFollowed: params.isFollowed,
    });
    log.info(
      { store: store.description, location, chunkBytes: params.chunkBytes },
      'backup started',
    );
    const outcome =
      params.type === 'LOGICAL'
        ? await streamLogical(ctx, params.compressionLevel, work, writer, progress, running)
        : await streamPhysical(ctx, params, work, writer, progress, running);
    if (isInterrupted())
      throw new TenantFacingError('The backup was interrupted: the guest is stopping.');
    const chunks = await writer.finish();
    const finishedAt = new Date();
    const manifest: BackupManifest = {
      format: BACKUP_MANIFEST_FORMAT,
      backupId,
      projectId: ctx.projectId,
      instanceId: ctx.instanceId,
      type: params.type,
      strategy: BACKUP_STRATEGIES[params.type],
      datastore: { manager: 'mariadb', version: ctx.datastoreVersion, serverVersion },
      parent: params.parent,
      compression: 'zstd',
      compressionLevel: params.compressionLevel,
      encryption: { algorithm: 'aes-256-gcm', key: 'project' },
      chunkSize: params.chunkBytes,
      chunks,
      rawBytes: outcome.rawBytes,
      storedBytes: writer.storedBytes,
      lsn: outcome.lsn,
      binlog: outcome.binlog,
      gtid: outcome.gtid,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest)}\n`);
    // Written last: a backup without its manifest is not a backup.
    await store.put(`${location}${BACKUP_MANIFEST_NAME}`, manifestBytes);
    const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
    await progress.finish({
      backupId,
      status: 'COMPLETED',
      progress: 100,
      storedBytes: writer.storedBytes,
      rawBytes: outcome.rawBytes,
      result: {
        manifestSha256,
        chunkCount: chunks.length,
        lsn: outcome.lsn,
        binlog: outcome.binlog,
        gtid: outcome.gtid,
        serverVersion,
        startedAt: manifest.startedAt,
        finishedAt: manifest.finishedAt,
      },
    });
    log.info(
      {
        ms: finishedAt.getTime() - startedAt.getTime(),
        chunks: chunks.length,
        storedBytes: writer.storedBytes,
        rawBytes: outcome.rawBytes,
      },
      'backup completed',
    );
    return { manifestSha256 };
  } catch (error) {
    const { message, details } = describe(
      isInterrupted()
        ? new TenantFacingError('The backup was interrupted: the guest is stopping.')
        : error,
    );
    log.error({ err: error, fault: message }, 'backup failed');
    for (const tool of running) tool.stop();
    await writer?.settle();
    if (store) {
      const removed = await store.deletePrefix(location).catch((cleanupError: unknown) => {
        log.warn(
          { err: cleanupError },
          'could not remove the failed backup objects (the control plane will)',
        );
        return null;
      });
      if (removed !== null) log.info({ removed }, 'removed the objects of the failed backup');
    }
    await progress
      .finish({
        backupId,
        status: 'FAILED',
        progress: 0,
        storedBytes: 0,
        rawBytes: 0,
        message: message.slice(0, 2000),
      })
      .catch((reportError: unknown) =>
        log.error({ err: reportError }, 'could not report the failed backup'),
      );
    throw new TenantFacingError(message, details, { cause: error });
  } finally {
    work?.remove();
    clearBackupRunning(ctx.layout);
    await store?.close();
  }
}
