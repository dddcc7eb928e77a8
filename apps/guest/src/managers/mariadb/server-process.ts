import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { type Logger } from 'pino';

import {
  isOurProcess,
  readPidFile,
  terminateProcess,
  waitFor,
  writeFileAtomic,
} from '@coffer/host';
import { type MariadbBinaries } from './binaries';
import { DatadirTemplates, templateKeyOf } from './datadir-template';
import { chooseInstallCpu } from './install-cpu';
import { type MariadbLayout } from './layout';
import { pingServer, type PingResult } from './ping';
import { type ServerAccount } from './server-account';

/**
 * The database server process: install its datadir, write its defaults file, start it
 * detached (it outlives a guest crash, as mysqld outlives Trove's agent), stop it, and find
 * its state the way Trove does (pid file, process, ping).
 */

export type ServerProbe =
  /** No pid file: the server was shut down cleanly (or never started). */
  | { state: 'stopped' }
  /** A pid file, but no live server of ours behind it: it crashed or was killed. */
  | { state: 'dead'; pid: number | null }
  /** Our server is alive but did not answer a ping in time. */
  | { state: 'unresponsive'; pid: number; reason: string }
  | { state: 'running'; pid: number; version: string | null };

export class ServerProcessError extends Error {
  constructor(
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'ServerProcessError';
  }
}

export interface MariadbServerOptions {
  layout: MariadbLayout;
  /** Looked up when first needed: a guest without MariaDB still runs, and says why prepare fails. */
  findBinaries: () => MariadbBinaries;
  path: string;
  logger: Logger;
  /** How to ping the server; the greeting check when not given. */
  ping?: (timeoutMs: number) => Promise<PingResult>;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Where pristine datadirs are kept (datadir-template.ts): installs copy one; none: every install runs the installer. */
  templateDir?: string;
}

const INSTALL_TIMEOUT_MS = 5 * 60_000;
/** The redo log a template keeps (MiB; MariaDB's smallest): see settleTemplate. */
const TEMPLATE_REDO_LOG_MB = 4;
/**
 * How often a start looks for the server's answer and a stop for its end. A look is a pid file,
 * /proc and (starting) a connect to the socket: cheap, and a restart is seen done within 10 ms
 * (as an operator's `until mariadb-admin ping` loop would), not up to 50 ms late twice.
 */
const START_STOP_POLL_MS = 10;
/** How long a stop waits for Node to reap the server it started (its exit is seen at once). */
const REAP_TIMEOUT_MS = 2_000;

/**
 * What a server was started with (its pid, its defaults file's text and its arguments), kept
 * beside its pid file (`mysqld.pid.started`) so that it outlives the guest process that
 * started it: a server started early at boot (early-install.ts) is kept by prepare only when
 * prepare would start it the same way (isStale), also when the guest restarted in between.
 */
interface StartRecord {
  pid: number;
  config: string | null;
  args: string[];
}

/** A number from a path, the same every time (which CPU an install runs on). */
function seedOf(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash;
}

export class MariadbServer {
  private readonly layout: MariadbLayout;
  private readonly findBinaries: () => MariadbBinaries;
  private binaries: MariadbBinaries | null = null;
  private readonly path: string;
  private readonly logger: Logger;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly ping: (timeoutMs: number) => Promise<PingResult>;
  private readonly templates: DatadirTemplates | null;
  /** The version the server's greeting gave when it last answered a start (null: not said). */
  private greetingVersion: string | null = null;
  /**
   * The server this guest started (its child): `exited` settles once Node has reaped it. A
   * stopped server whose exit was never reaped stays a zombie after the guest ends, where the
   * host's init does not reap orphans (containers, this project's test machines).
   */
  private spawned: { pid: number; exited: Promise<void> } | null = null;
  /** Options given after the config file at every start (the database logs': manager/logs.ts). */
  extraArgs: () => string[] = () => [];

  constructor(options: MariadbServerOptions) {
    this.layout = options.layout;
    this.findBinaries = options.findBinaries;
    this.path = options.path;
    this.logger = options.logger;
    this.ping = options.ping ?? ((timeoutMs) => pingServer(this.layout.socket, timeoutMs));
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    this.templates = options.templateDir
      ? new DatadirTemplates(options.templateDir, options.logger)
      : null;
  }

  private binary<K extends keyof MariadbBinaries>(name: K): MariadbBinaries[K] {
    this.binaries ??= this.findBinaries();
    return this.binaries[name];
  }

  /** mariadb-install-db with its arguments, kept on one CPU where that can be done (see install-cpu.ts). */
  private installCommand(args: string[]): { command: string; args: string[]; cpu: number | null } {
    const installDb = this.binary('installDb');
    const taskset = this.binary('taskset');
    const cpu = taskset ? chooseInstallCpu(seedOf(this.layout.volumeDir)) : null;
    if (cpu === null || !taskset) return { command: installDb, args, cpu: null };
    return { command: taskset, args: ['-c', String(cpu), installDb, ...args], cpu };
  }

  /** A server process is ours when it was started with our defaults file. */
  readonly isOurServer = (args: string[]): boolean =>
    args.includes(`--defaults-file=${this.layout.myCnf}`);

  isInstalled(): boolean {
    return existsSync(join(this.layout.datadir, 'mysql'));
  }

  hasConfig(): boolean {
    return existsSync(this.layout.myCnf);
  }

  writeConfig(content: string): void {
    mkdirSync(this.layout.volumeDir, { recursive: true });
    writeFileAtomic(this.layout.myCnf, content, 0o644);
  }

  /** The run dir, the error log and (if the server runs as another user) their ownership; the run dir may be a fresh tmpfs after a reboot. */
  prepareRuntimeDirs(account: ServerAccount): void {
    mkdirSync(this.layout.runDir, { recursive: true, mode: 0o755 });
    mkdirSync(this.layout.logDir, { recursive: true });
    mkdirSync(this.layout.tmpDir, { recursive: true, mode: 0o750 });
    closeSync(openSync(this.layout.logError, 'a', 0o640));
    if (account.owner) {
      lchownSync(this.layout.runDir, account.owner.uid, account.owner.gid);
      lchownSync(this.layout.tmpDir, account.owner.uid, account.owner.gid);
      lchownSync(this.layout.logError, account.owner.uid, account.owner.gid);
    }
  }

  /**
   * Creates the datadir: a copy of the pristine template for this server build and format
   * (datadir-template.ts; made by the first install), or else mariadb-install-db (root: socket
   * authentication only; no test database). Either writes into a scratch dir renamed when
   * done, so a crash halfway leaves nothing that looks installed, and a retry starts over cleanly.
   */
  async install(account: ServerAccount): Promise<'installed' | 'already-installed'> {
    if (this.isInstalled()) return 'already-installed';
    if (existsSync(this.layout.datadir)) {
      throw new ServerProcessError(
        `the volume already holds a data directory (${this.layout.datadir}) without system tables; refusing to overwrite it`,
      );
    }
    rmSync(this.layout.installDir, { recursive: true, force: true });
    const startedAt = Date.now();
    const copied = await this.copyTemplate(account);
    if (!copied) await this.installDb(this.layout.installDir, account);
    if (account.owner) chownRecursive(this.layout.installDir, account.owner.uid, account.owner.gid);
    renameSync(this.layout.installDir, this.layout.datadir);
    this.logger.info(
      { ms: Date.now() - startedAt, from: copied ? 'template' : 'installer' },
      'datadir installed',
    );
    return 'installed';
  }

  /** Copies the template into the install dir; false when there is none to copy (logged). */
  private async copyTemplate(account: ServerAccount): Promise<boolean> {
    if (!this.templates) return false;
    let key: string;
    try {
      key = templateKeyOf({
        binaries: [this.binary('mariadbd'), this.binary('installDb')],
        installArgs: account.installArgs,
        myCnfText: readFileSync(this.layout.myCnf, 'utf8'),
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'no datadir template key: installing');
      return false;
    }
    const template = await this.templates.ensure(key, async (datadir) => {
      await this.installDb(datadir, account);
      await this.settleTemplate(datadir, account);
    });
    if (template === null) return false;
    try {
      await this.templates.copy(template, this.layout.installDir);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, template }, 'datadir template not copied: installing');
      rmSync(this.layout.installDir, { recursive: true, force: true });
      return false;
    }
  }

  /**
   * Starts a server once on a freshly installed template and stops it cleanly. Straight from
   * mariadb-install-db, Aria's system tables pass for "moved" in a copy at another path: the
   * server zero-fills them at first use and mysql.proc then reads as corrupt (DROP DATABASE
   * fails). After one clean start and shutdown, copies open as the original does. No network,
   * no binary log (the template holds no binlog of its own), the smallest redo log.
   */
  private async settleTemplate(datadir: string, account: ServerAccount): Promise<void> {
    // A short path of its own for the socket (a unix socket path must fit in 107 bytes).
    const dir = mkdtempSync(join(tmpdir(), 'coffer-template-'));
    const socket = join(dir, 's.sock');
    const errorLog = join(dir, 'error.log');
    try {
      if (account.owner) lchownSync(dir, account.owner.uid, account.owner.gid);
      const child = spawn(
        this.binary('mariadbd'),
        [
          `--defaults-file=${this.layout.myCnf}`,
          `--datadir=${datadir}`,
          `--socket=${socket}`,
          `--pid-file=${join(dir, 's.pid')}`,
          `--log-error=${errorLog}`,
          '--skip-networking',
          '--skip-log-bin',
          '--skip-slave-start',
          // The smallest redo log: a copy then carries 4 MiB of it instead of the flavor's
          // 64 MiB or more (80 % of the bytes copied), and its first start grows it to its own
          // my.cnf size as after any change of innodb_log_file_size (an allocated file, as
          // mariadb-install-db's own).
          `--innodb-log-file-size=${TEMPLATE_REDO_LOG_MB}M`,
          ...account.serverArgs,
        ],
        { stdio: 'ignore', cwd: dir, env: { PATH: this.path } },
      );
      let exit: string | null = null;
      const exited = new Promise<void>((resolveExit) => {
        child.once('exit', (code, signal) => {
          exit = signal ?? `code ${String(code)}`;
          resolveExit();
        });
        child.once('error', (error) => {
          exit = `not run: ${error.message}`;
          resolveExit();
        });
      });
      const failure = (what: string) =>
        new ServerProcessError(
          `settling the datadir template failed: ${what}`,
          tail(readFrom(errorLog, 0)),
        );
      const isUp = await waitFor(
        async () => exit !== null || (await pingServer(socket, 2_000)).isAlive,
        { timeoutMs: this.startTimeoutMs, intervalMs: START_STOP_POLL_MS },
      );
      if (exit !== null) throw failure(`the server exited (${String(exit)})`);
      child.kill('SIGTERM');
      if (!isUp) {
        await exited;
        throw failure('the server did not answer in time');
      }
      const stopped = await Promise.race([
        exited.then(() => true),
        delay(this.stopTimeoutMs).then(() => false),
      ]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
        throw failure('the server did not stop in time');
      }
      if (exit !== 'code 0') throw failure(`the server stopped with ${String(exit)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs mariadb-install-db into `datadir` (which must not exist) with the server's defaults file. */
  private async installDb(datadir: string, account: ServerAccount): Promise<void> {
    const args = [
      `--defaults-file=${this.layout.myCnf}`,
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
      ...account.installArgs,
    ];
    const startedAt = Date.now();
    const logOffset = fileSize(this.layout.logError);
    const install = this.installCommand(args);
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        install.command,
        install.args,
        {
          env: { PATH: this.path },
          cwd: this.layout.volumeDir,
          timeout: INSTALL_TIMEOUT_MS,
          maxBuffer: 4 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (!error) return resolve(`${stdout}${stderr}`);
          // The bootstrap server writes to the error log of the defaults file; the tool to its output.
          const text = `${stdout}${stderr}\n${readFrom(this.layout.logError, logOffset)}`;
          const reason =
            firstErrorLine(text) ??
            (error.killed ? 'it took too long' : `it exited with code ${String(error.code)}`);
          reject(new ServerProcessError(`mariadb-install-db failed: ${reason}`, tail(text)));
        },
      );
    });
    this.logger.info(
      { ms: Date.now() - startedAt, lines: output.split('\n').length, cpu: install.cpu, datadir },
      'mariadb-install-db done',
    );
  }

  /** The error log's last lines (see errorLogTailOf). */
  errorLogTail(count: number): { lastError: string | null; lines: string[] } {
    return errorLogTailOf(this.layout.logError, count);
  }

  /** The version in the greeting of the server's first answer after the last start (or adoption); null when it did not say. */
  startedVersion(): string | null {
    return this.greetingVersion;
  }

  /** The pid of our running server, or null. */
  runningPid(): number | null {
    const pid = readPidFile(this.layout.pidFile);
    return pid !== null && isOurProcess(pid, this.isOurServer) ? pid : null;
  }

  async probe(pingTimeoutMs: number): Promise<ServerProbe> {
    if (!existsSync(this.layout.pidFile)) return { state: 'stopped' };
    const pid = readPidFile(this.layout.pidFile);
    if (pid === null || !isOurProcess(pid, this.isOurServer)) {
      // The server may have just removed its pid file on a clean shutdown.
      return existsSync(this.layout.pidFile) ? { state: 'dead', pid } : { state: 'stopped' };
    }
    const ping = await this.ping(pingTimeoutMs);
    if (ping.isAlive) return { state: 'running', pid, version: ping.version };
    return { state: 'unresponsive', pid, reason: ping.reason };
  }

  /**
   * Starts the server detached in its own session, or adopts it when it already runs, and
   * waits until it answers a ping. Throws with the error log's own words when it does not.
   */
  async start(account: ServerAccount): Promise<'started' | 'adopted'> {
    this.prepareRuntimeDirs(account);
    const adopted = this.runningPid();
    if (adopted !== null) {
      await this.waitUntilAnswering(adopted, null);
      this.logger.info({ pid: adopted }, 'adopted the running database server');
      return 'adopted';
    }
    rmSync(this.layout.pidFile, { force: true });
    const logOffset = fileSize(this.layout.logError);
    const args = this.startArgs(account);
    const config = this.configText();
    const child = spawn(this.binary('mariadbd'), args, {
      detached: true,
      stdio: 'ignore',
      cwd: this.layout.volumeDir,
      env: { PATH: this.path },
    });
    let exitReason: string | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitReason = `it exited (${signal ?? `code ${code}`})`;
        resolve();
      });
      child.once('error', (error) => {
        exitReason = `it could not be run: ${error.message}`;
        resolve();
      });
    });
    if (child.pid !== undefined) this.spawned = { pid: child.pid, exited };
    child.unref();
    const startedAt = Date.now();
    await this.waitUntilAnswering(null, () =>
      exitReason === null ? null : this.startFailure(exitReason, logOffset),
    );
    const pid = this.runningPid();
    if (pid !== null) this.recordStart({ pid, config, args });
    this.logger.info({ pid, ms: Date.now() - startedAt }, 'database server started');
    return 'started';
  }

  /** What a start runs the server with: the defaults file, the account's and extraArgs' options. */
  private startArgs(account: ServerAccount): string[] {
    return [`--defaults-file=${this.layout.myCnf}`, ...account.serverArgs, ...this.extraArgs()];
  }

  private configText(): string | null {
    try {
      return readFileSync(this.layout.myCnf, 'utf8');
    } catch {
      return null;
    }
  }

  private get startRecordFile(): string {
    return `${this.layout.pidFile}.started`;
  }

  /** Written next to the pid file (a temporary file renamed: never read half-written). */
  private recordStart(record: StartRecord): void {
    const temporary = `${this.startRecordFile}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
      renameSync(temporary, this.startRecordFile);
    } catch (error) {
      // Without the record a later prepare restarts the server rather than keep it (isStale).
      rmSync(temporary, { force: true });
      this.logger.warn({ err: error }, 'could not record how the database server was started');
    }
  }

  private readStartRecord(): StartRecord | null {
    try {
      const record = JSON.parse(readFileSync(this.startRecordFile, 'utf8')) as Partial<StartRecord>;
      return typeof record.pid === 'number' && Array.isArray(record.args)
        ? { pid: record.pid, config: record.config ?? null, args: record.args }
        : null;
    } catch {
      return null;
    }
  }

  /**
   * Whether the running server was started with another defaults file or other arguments
   * than a start would use now, or it is not known how it was started (no record for its pid:
   * a server a guest of an older version started): prepare restarts it then. The record is
   * on disk, so a guest that restarted after the early start still knows. False when none runs.
   */
  isStale(account: ServerAccount): boolean {
    const pid = this.runningPid();
    if (pid === null) return false;
    const started = this.readStartRecord();
    if (started?.pid !== pid) return true;
    return (
      started.config !== this.configText() ||
      JSON.stringify(started.args) !== JSON.stringify(this.startArgs(account))
    );
  }

  private async waitUntilAnswering(
    pid: number | null,
    hasFailed: (() => ServerProcessError | null) | null,
  ): Promise<void> {
    let failure: ServerProcessError | null = null;
    this.greetingVersion = null;
    const isUp = await waitFor(
      async () => {
        failure = hasFailed?.() ?? null;
        if (failure) return true;
        const current = this.runningPid();
        if (current === null) return pid !== null; // an adopted server that went away: stop waiting
        if (pid !== null && current !== pid) return false;
        const ping = await this.ping(1000);
        if (ping.isAlive) this.greetingVersion = ping.version;
        return ping.isAlive;
      },
      { timeoutMs: this.startTimeoutMs, intervalMs: START_STOP_POLL_MS },
    );
    if (failure) throw failure;
    if (!isUp)
      throw this.startFailure(
        `it did not answer within ${Math.round(this.startTimeoutMs / 1000)} s`,
        0,
      );
    if (this.runningPid() === null) throw this.startFailure('it stopped while starting', 0);
  }

  private startFailure(reason: string, logOffset: number): ServerProcessError {
    const log = readFrom(this.layout.logError, logOffset);
    return new ServerProcessError(
      `the database server did not start: ${firstErrorLine(log) ?? reason}`,
      tail(log),
    );
  }

  /**
   * Stops the server cleanly (SIGTERM makes mariadbd shut down as SHUTDOWN does) and waits
   * for it to go; kills it after the bound. A stale pid file is removed, so the server then
   * reads as cleanly stopped.
   */
  async stop(): Promise<'not-running' | 'stopped' | 'killed'> {
    const pid = readPidFile(this.layout.pidFile);
    let outcome: 'not-running' | 'stopped' | 'killed' = 'not-running';
    if (pid !== null)
      outcome = await terminateProcess(pid, this.isOurServer, {
        timeoutMs: this.stopTimeoutMs,
        intervalMs: START_STOP_POLL_MS,
      });
    // Gone from the process table too, when it is our child: reaped, not left a zombie.
    const spawned = this.spawned;
    if (pid !== null && spawned?.pid === pid && outcome !== 'not-running') {
      await Promise.race([spawned.exited, delay(REAP_TIMEOUT_MS)]);
      this.spawned = null;
    }
    rmSync(this.layout.pidFile, { force: true });
    if (outcome === 'killed')
      this.logger.warn({ pid }, 'the database server did not stop in time and was killed');
    else if (outcome === 'stopped') this.logger.info({ pid }, 'database server stopped');
    return outcome;
  }
}

/**
 * The last lines of the error log (what a tenant reads when the server will not stay up): at
 * most `count` lines of its last 64 KiB, long lines cut, anything that looks like a password
 * masked; and the last `[ERROR]` line among them.
 */
export function errorLogTailOf(
  path: string,
  count: number,
): { lastError: string | null; lines: string[] } {
  const lines = readFrom(path, 0)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count)
    .map((line) => redactLogLine(line).slice(0, 300));
  const errors = lines.filter(
    (line) => /\[ERROR\]/.test(line) && !/\[ERROR\]\s*Aborting/.test(line),
  );
  const last = errors.at(-1);
  return { lastError: last ? firstErrorLine(last) : null, lines };
}

/** Masks what follows "password", "IDENTIFIED BY" and the like on a log line. */
export function redactLogLine(line: string): string {
  return line.replace(
    /(password|identified\s+by|secret)(\s*[=:]?\s*)('[^']*'|"[^"]*"|\S+)/gi,
    '$1$2***',
  );
}

function chownRecursive(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownRecursive(child, uid, gid);
    else lchownSync(child, uid, gid);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What was appended to a log since `offset` (its last 64 KiB at most). */
function readFrom(path: string, offset: number): string {
  try {
    const start = Math.max(offset, fileSize(path) - 64 * 1024);
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.max(0, fileSize(path) - start));
      const length = readSync(fd, buffer, 0, buffer.length, start);
      return buffer.subarray(0, length).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function tail(text: string, lines = 30): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The server's first `[ERROR]` line, without its timestamp and program path (what a tenant can act on). */
export function firstErrorLine(log: string): string | null {
  for (const line of log.split('\n')) {
    const match = /\[ERROR\]\s*(.*)$/.exec(line);
    if (!match?.[1] || /^Aborting/.test(match[1])) continue;
    return match[1].replace(/^\S*mariadbd:\s*/, '').trim();
  }
  return null;
}
