import {
  closeSync,
  existsSync,
  lchownSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';

import {
  MAX_LOG_DOWNLOAD_BYTES,
  MAX_LOG_PUBLISH_BYTES,
  MAX_LOG_TAIL_STEP_BYTES,
  MAX_ROTATED_LOG_FILES,
  PUBLISHED_LOG_FORMAT,
  type GuestResult,
  type LogInfo,
  type LogName,
  type PublishedLog,
} from '@coffer/contracts';
import { writeFileAtomic } from '@coffer/host';
import { createObjectStore } from '@coffer/objectstore';

import { openBackupAccess } from '../../../backup/access';
import { sealChunk } from '../../../backup/chunk-crypto';
import { type MethodParams } from '../../datastore-manager';
import {
  defaultLogCap,
  fileIdOf,
  fileSizeOf,
  largestLogCap,
  moveMasked,
  readForward,
  readMaskedFiles,
  readTail,
} from '../logs/log-files';
import { refuse } from '../sql/refusals';
import { type AdminSession } from './admin-session';
import { splitOverrides } from './configuration';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/**
 * Database logs (issue 16 part 3; Trove's guest logs): the error log always, the slow query
 * and general logs when the tenant switches them on. What is on is kept in a file of the
 * volume and given to the server as options at every start (so a restart keeps it), and set
 * at once with SET GLOBAL on a running server. `long_query_time` is the configuration group's
 * when it has one, else 1 s. Each log has a cap (the tenant's, kept in the same file, or 1 % of
 * the volume within 4-64 MiB) that the log and its rotated files stay within: the current file
 * is rotated once it passes a quarter of it (`<file>.1` … `<file>.3` kept, the server told to
 * reopen it: FLUSH … LOGS), the oldest rotated files removed while the total passes the cap,
 * so logs never fill the volume. A rotated file is written masked (its password statements
 * replaced), and whatever leaves the guest (a tail, a download, a published copy) is masked
 * again as it is read.
 */

const STATE_FILE = '.coffer-logs.json';
const SWITCHABLE: readonly LogName[] = ['slow', 'general'];
const DEFAULT_LONG_QUERY_TIME = '1';
/** How often the logs' sizes are looked at (a stat each: cheap). */
const ROTATE_CHECK_MS = 10_000;

type LogState = Partial<Record<'slow' | 'general', boolean>> & {
  /** The tenant's cap of each log, in bytes (absent: the default). */
  caps?: Partial<Record<LogName, number>>;
};

const LOG_NAMES: readonly LogName[] = ['error', 'slow', 'general'];

const FLUSH: Record<LogName, string> = {
  error: 'FLUSH ERROR LOGS',
  slow: 'FLUSH SLOW LOGS',
  general: 'FLUSH GENERAL LOGS',
};

export class MariadbLogs {
  private readonly timer: NodeJS.Timeout;
  private rotating: Promise<void> | null = null;

  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
  ) {
    this.runtime.server.extraArgs = () => this.serverArgs();
    this.timer = setInterval(() => {
      this.rotateIfNeeded().catch((error: unknown) =>
        this.runtime.logger.warn({ err: error }, 'log rotation failed'),
      );
    }, ROTATE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  pathOf(name: LogName): string {
    const { layout } = this.runtime;
    if (name === 'error') return layout.logError;
    return join(layout.logDir, name === 'slow' ? 'slow.log' : 'general.log');
  }

  private get stateFile(): string {
    return join(this.runtime.layout.volumeDir, STATE_FILE);
  }

  private readState(): LogState {
    try {
      const parsed = JSON.parse(readFileSync(this.stateFile, 'utf8')) as LogState;
      return typeof parsed === 'object' && parsed !== null ? parsed : {};
    } catch {
      return {};
    }
  }

  private isEnabled(name: LogName): boolean {
    if (name === 'error') return true;
    return this.readState()[name] === true;
  }

  /** The configuration group's long_query_time, else Coffer's default (1 s). */
  private longQueryTime(): { value: string; isGroups: boolean } {
    try {
      const { overrides } = splitOverrides(readFileSync(this.runtime.layout.myCnf, 'utf8'));
      const value = overrides.get('long_query_time');
      if (value !== undefined && /^\d+(\.\d+)?$/.test(value)) return { value, isGroups: true };
    } catch {
      // No config file yet: the default.
    }
    return { value: DEFAULT_LONG_QUERY_TIME, isGroups: false };
  }

  /**
   * Makes the log file if it is missing, owned by the server's account: the log directory is
   * not the server's to write in, so it cannot create (or re-create after a rotation) its files.
   */
  private ensureFile(path: string): void {
    closeSync(openSync(path, 'a', 0o640));
    const { owner } = this.runtime.serverAccount();
    if (owner) lchownSync(path, owner.uid, owner.gid);
  }

  /** What the server is started with (after its config file): the logs' files, and what is on. */
  serverArgs(): string[] {
    this.ensureFile(this.pathOf('slow'));
    this.ensureFile(this.pathOf('general'));
    const state = this.readState();
    const args = [
      `--slow_query_log_file=${this.pathOf('slow')}`,
      `--general_log_file=${this.pathOf('general')}`,
    ];
    if (state.slow !== undefined) args.push(`--slow_query_log=${state.slow ? 'ON' : 'OFF'}`);
    if (state.general !== undefined) args.push(`--general_log=${state.general ? 'ON' : 'OFF'}`);
    if (state.slow || state.general) args.push('--log_output=FILE');
    const longQuery = this.longQueryTime();
    if (state.slow && !longQuery.isGroups) args.push(`--long_query_time=${longQuery.value}`);
    return args;
  }

  /** The rotated files of a log that exist, newest first. */
  private rotatedOf(name: LogName): string[] {
    const path = this.pathOf(name);
    const files: string[] = [];
    for (let i = 1; i <= MAX_ROTATED_LOG_FILES; i++) {
      if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
    }
    return files;
  }

  /** The log's cap: the tenant's (within what the volume allows), else the default. */
  private capOf(name: LogName, state = this.readState()): { cap: number; isSet: boolean } {
    const set = state.caps?.[name];
    if (typeof set === 'number' && set > 0) {
      return { cap: Math.min(set, largestLogCap(this.runtime.layout.logDir)), isSet: true };
    }
    return { cap: defaultLogCap(this.runtime.layout.logDir), isSet: false };
  }

  private info(name: LogName): LogInfo {
    const path = this.pathOf(name);
    const rotated = this.rotatedOf(name);
    const { cap, isSet } = this.capOf(name);
    return {
      name,
      enabled: this.isEnabled(name),
      switchable: SWITCHABLE.includes(name),
      sizeBytes: fileSizeOf(path),
      rotatedSizeBytes: rotated.reduce((sum, file) => sum + fileSizeOf(file), 0),
      rotatedFiles: rotated.length,
      maxBytes: Math.floor(cap / (MAX_ROTATED_LOG_FILES + 1)),
      capBytes: cap,
      defaultCapBytes: defaultLogCap(this.runtime.layout.logDir),
      isCapSet: isSet,
    };
  }

  /** The log's files, oldest first (rotated ones, then the current one). */
  private filesOf(name: LogName): string[] {
    return [...this.rotatedOf(name).reverse(), this.pathOf(name)];
  }

  private isServerUp(): boolean {
    return this.state.isPrepared && this.runtime.server.runningPid() !== null;
  }

  async list(): Promise<GuestResult<'list_logs'>> {
    await this.rotateIfNeeded();
    return { logs: LOG_NAMES.map((name) => this.info(name)) };
  }

  async set(params: MethodParams<'set_log'>): Promise<GuestResult<'set_log'>> {
    const { name, enabled, capBytes } = params;
    if (capBytes !== undefined) this.setCap(name, capBytes);
    if (enabled !== undefined) await this.setEnabled(name, enabled);
    return { log: this.info(name) };
  }

  /** Sets (or, with null, forgets) a log's cap, and rotates at once what is now over it. */
  private setCap(name: LogName, capBytes: number | null): void {
    const largest = largestLogCap(this.runtime.layout.logDir);
    if (capBytes !== null && capBytes > largest) {
      refuse({
        code: 'BAD_REQUEST',
        message: `A log's cap can be at most ${Math.floor(largest / 1024 / 1024)} MiB on this volume (10 % of it).`,
        field: 'capBytes',
      });
    }
    const state = this.readState();
    const caps = { ...state.caps };
    if (capBytes === null) delete caps[name];
    else caps[name] = capBytes;
    writeFileAtomic(this.stateFile, JSON.stringify({ ...state, caps }), 0o644);
    this.runtime.logger.info({ log: name, capBytes }, 'database log cap set');
  }

  private async setEnabled(name: LogName, enabled: boolean): Promise<void> {
    if (name === 'error') {
      refuse({ code: 'BAD_REQUEST', message: 'The error log is always on.', field: 'name' });
    }
    if (this.isServerUp()) {
      this.ensureFile(this.pathOf(name));
      await this.session.run(`Switching the ${name} log`, async (connection) => {
        await connection.query("SET GLOBAL log_output = 'FILE'");
        if (name === 'slow') {
          await connection.query('SET GLOBAL slow_query_log_file = ?', [this.pathOf('slow')]);
          if (enabled) {
            const longQuery = this.longQueryTime();
            await connection.query(`SET GLOBAL long_query_time = ${Number(longQuery.value)}`);
          }
          await connection.query(`SET GLOBAL slow_query_log = ${enabled ? 'ON' : 'OFF'}`);
        } else {
          await connection.query('SET GLOBAL general_log_file = ?', [this.pathOf('general')]);
          await connection.query(`SET GLOBAL general_log = ${enabled ? 'ON' : 'OFF'}`);
        }
      });
    }
    writeFileAtomic(
      this.stateFile,
      JSON.stringify({ ...this.readState(), [name]: enabled }),
      0o644,
    );
    this.runtime.logger.info({ log: name, enabled }, 'database log switched');
  }

  async show(params: MethodParams<'show_log'>): Promise<GuestResult<'show_log'>> {
    await this.rotateIfNeeded();
    const path = this.pathOf(params.name);
    if (params.fromOffset !== undefined) {
      const step = readForward(path, params.fromOffset, params.fileId, MAX_LOG_TAIL_STEP_BYTES);
      return { name: params.name, ...step, isTruncated: false };
    }
    const fileId = fileIdOf(path);
    const tail = readTail(path, {
      lines: params.lines,
      search: params.search,
      after: params.after,
    });
    return { name: params.name, ...tail, fileId };
  }

  async download(params: MethodParams<'download_log'>): Promise<GuestResult<'download_log'>> {
    await this.rotateIfNeeded();
    return {
      name: params.name,
      ...readMaskedFiles(this.filesOf(params.name), MAX_LOG_DOWNLOAD_BYTES),
    };
  }

  /** The masked log, sealed with the project's key as a backup's chunk 0 of `publishId`, and its description. */
  async publish(params: MethodParams<'publish_log'>): Promise<GuestResult<'publish_log'>> {
    const { name, publishId, location } = params;
    const access = openBackupAccess(this.runtime.options.config.guestSecret, publishId, params);
    await this.rotateIfNeeded();
    const { text } = readMaskedFiles(this.filesOf(name), MAX_LOG_PUBLISH_BYTES);
    const sealed = sealChunk(access.key, publishId, 0, Buffer.from(text, 'utf8'));
    const stamp = new Date().toISOString();
    const object = `${location}${stamp.replace(/[:.]/g, '-')}-${name}-${publishId}.log.enc`;
    const published: PublishedLog = {
      format: PUBLISHED_LOG_FORMAT,
      publishId,
      name,
      ...(params.instanceName ? { instanceName: params.instanceName } : {}),
      object,
      createdAt: stamp,
      plainSize: sealed.plainSize,
      size: sealed.stored.length,
      sha256: sealed.sha256,
      iv: sealed.iv,
      tag: sealed.tag,
    };
    const store = createObjectStore(access.store);
    try {
      await store.put(object, sealed.stored);
      await store.put(
        object.replace(/\.log\.enc$/, '.json'),
        Buffer.from(JSON.stringify(published)),
      );
    } finally {
      await store.close();
    }
    this.runtime.logger.info(
      { log: name, object, bytes: sealed.plainSize },
      'database log published',
    );
    return published;
  }

  /**
   * Rotates every log whose current file passed its share of the cap (renamed aside, the
   * server told to reopen it, then written masked as `<file>.1`, the older ones shifted), and
   * removes the oldest rotated files while a log and its rotated files pass the cap.
   */
  rotateIfNeeded(): Promise<void> {
    this.rotating ??= this.rotate().finally(() => {
      this.rotating = null;
    });
    return this.rotating;
  }

  /** Makes room for a new `<file>.1`: the oldest rotated file removed, the others moved one up. */
  private shift(name: LogName): void {
    const path = this.pathOf(name);
    rmSync(`${path}.${MAX_ROTATED_LOG_FILES}`, { force: true });
    for (let i = MAX_ROTATED_LOG_FILES - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
  }

  private async rotate(): Promise<void> {
    const state = this.readState();
    const caps = new Map(LOG_NAMES.map((name) => [name, this.capOf(name, state).cap]));
    // A rotation cut short (the guest stopped before masking) is finished first.
    for (const name of LOG_NAMES) {
      const aside = `${this.pathOf(name)}.rotating`;
      if (existsSync(aside)) {
        this.shift(name);
        moveMasked(aside, `${this.pathOf(name)}.1`);
      }
    }
    const due = LOG_NAMES.filter(
      (name) =>
        fileSizeOf(this.pathOf(name)) > Math.floor(caps.get(name)! / (MAX_ROTATED_LOG_FILES + 1)),
    );
    for (const name of due) {
      renameSync(this.pathOf(name), `${this.pathOf(name)}.rotating`);
      this.ensureFile(this.pathOf(name));
    }
    if (due.length > 0 && this.isServerUp()) {
      await this.session.run('Rotating the logs', async (connection) => {
        for (const name of due) await connection.query(FLUSH[name]);
      });
    }
    for (const name of due) {
      this.shift(name);
      moveMasked(`${this.pathOf(name)}.rotating`, `${this.pathOf(name)}.1`);
    }
    const trimmed: string[] = [];
    for (const name of LOG_NAMES) {
      const rotated = this.rotatedOf(name);
      let total = this.filesOf(name).reduce((sum, file) => sum + fileSizeOf(file), 0);
      while (total > caps.get(name)! && rotated.length > 0) {
        const oldest = rotated.pop()!;
        total -= fileSizeOf(oldest);
        rmSync(oldest, { force: true });
        trimmed.push(oldest);
      }
    }
    if (due.length > 0 || trimmed.length > 0) {
      this.runtime.logger.info(
        { logs: due, removed: trimmed, capBytes: Object.fromEntries(caps) },
        'database logs rotated',
      );
    }
  }
}
