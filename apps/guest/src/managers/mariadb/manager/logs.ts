import { closeSync, lchownSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

import {
  MAX_LOG_DOWNLOAD_BYTES,
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
import { fileSizeOf, logSizeCap, readMaskedEnd, readTail } from '../logs/log-files';
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
 * when it has one, else 1 s. Every log is rotated once it passes its cap (one old file kept,
 * the server told to reopen it: FLUSH … LOGS), so logs never fill the volume. Whatever leaves
 * the guest (a tail, a download, a published copy) has its password statements masked.
 */

const STATE_FILE = '.coffer-logs.json';
const SWITCHABLE: readonly LogName[] = ['slow', 'general'];
const DEFAULT_LONG_QUERY_TIME = '1';
/** How often the logs' sizes are looked at (a stat each: cheap). */
const ROTATE_CHECK_MS = 10_000;

type LogState = Partial<Record<'slow' | 'general', boolean>>;

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

  private info(name: LogName, cap: number): LogInfo {
    const path = this.pathOf(name);
    return {
      name,
      enabled: this.isEnabled(name),
      switchable: SWITCHABLE.includes(name),
      sizeBytes: fileSizeOf(path),
      rotatedSizeBytes: fileSizeOf(`${path}.1`),
      maxBytes: cap,
    };
  }

  private isServerUp(): boolean {
    return this.state.isPrepared && this.runtime.server.runningPid() !== null;
  }

  async list(): Promise<GuestResult<'list_logs'>> {
    await this.rotateIfNeeded();
    const cap = logSizeCap(this.runtime.layout.logDir);
    return { logs: (['error', 'slow', 'general'] as const).map((name) => this.info(name, cap)) };
  }

  async set(params: MethodParams<'set_log'>): Promise<GuestResult<'set_log'>> {
    const { name, enabled } = params;
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
    return { log: this.info(name, logSizeCap(this.runtime.layout.logDir)) };
  }

  async show(params: MethodParams<'show_log'>): Promise<GuestResult<'show_log'>> {
    await this.rotateIfNeeded();
    const tail = readTail(this.pathOf(params.name), {
      lines: params.lines,
      search: params.search,
      after: params.after,
    });
    return { name: params.name, ...tail };
  }

  async download(params: MethodParams<'download_log'>): Promise<GuestResult<'download_log'>> {
    await this.rotateIfNeeded();
    return {
      name: params.name,
      ...readMaskedEnd(this.pathOf(params.name), MAX_LOG_DOWNLOAD_BYTES),
    };
  }

  /** The masked log, sealed with the project's key as a backup's chunk 0 of `publishId`, and its description. */
  async publish(params: MethodParams<'publish_log'>): Promise<GuestResult<'publish_log'>> {
    const { name, publishId, location } = params;
    const access = openBackupAccess(this.runtime.options.config.guestSecret, publishId, params);
    await this.rotateIfNeeded();
    const cap = logSizeCap(this.runtime.layout.logDir);
    const { text } = readMaskedEnd(this.pathOf(name), cap);
    const sealed = sealChunk(access.key, publishId, 0, Buffer.from(text, 'utf8'));
    const stamp = new Date().toISOString();
    const object = `${location}${stamp.replace(/[:.]/g, '-')}-${name}-${publishId}.log.enc`;
    const published: PublishedLog = {
      format: PUBLISHED_LOG_FORMAT,
      publishId,
      name,
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

  /** Rotates every log past its cap: renamed to `<file>.1` (the older one gone), the server told to reopen it. */
  rotateIfNeeded(): Promise<void> {
    this.rotating ??= this.rotate().finally(() => {
      this.rotating = null;
    });
    return this.rotating;
  }

  private async rotate(): Promise<void> {
    const cap = logSizeCap(this.runtime.layout.logDir);
    const due = (['error', 'slow', 'general'] as const).filter(
      (name) => fileSizeOf(this.pathOf(name)) > cap,
    );
    if (due.length === 0) return;
    for (const name of due) {
      renameSync(this.pathOf(name), `${this.pathOf(name)}.1`);
      this.ensureFile(this.pathOf(name));
    }
    if (this.isServerUp()) {
      await this.session.run('Rotating the logs', async (connection) => {
        for (const name of due) await connection.query(FLUSH[name]);
      });
    }
    this.runtime.logger.info({ logs: due, capBytes: cap }, 'database logs rotated');
  }
}
