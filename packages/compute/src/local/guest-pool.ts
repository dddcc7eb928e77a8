import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { getPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
  GUEST_STANDBY_FLAG,
  guestStandbyReplySchema,
  type GuestStandbyAssign,
} from '@coffer/contracts';

import { pidExists } from '@coffer/host';

import { ComputeError, silentLogger, type ComputeLogger } from '../provider';

/**
 * A warm pool of standby guests (issue 18's fast creates): guest agents started ahead, their
 * modules loaded, waiting to be given an instance (the protocol: @coffer/contracts
 * guest-standby.ts). A create takes one instead of starting Node and loading the agent on its
 * way (about 0.3 CPU-s and 0.2-0.3 s of a create on this machine), so the guest's early work
 * (the datadir's copy, the server's start) begins at once.
 *
 * ```
 * <dataDir>/guest-pool/
 *   <worker pid>-<12 hex>.starting.log   a standby loading (its stdout and stderr)
 *   <worker pid>-<12 hex>.ready.log      a standby ready to be taken
 * ```
 *
 * - **Owned by one process**: each standby is a child of the pool's process, tied to it by an
 *   IPC channel; a standby whose channel closes before it is assigned exits (the pool's process
 *   stopped or died), so no standby outlives its pool and none is ever shared. Files of a pool
 *   process that is gone are removed at the next start.
 * - **Taken once**: `take` removes a standby from the pool synchronously; the provider moves it
 *   into the instance's cgroup, renames its log to the instance's `guest.log` (the guest's
 *   stdout and stderr follow the file) and assigns it; a standby that refuses or does not answer
 *   is killed and the create starts a guest the usual way.
 * - **Which instance's**: an assigned standby makes the instance's root its working directory;
 *   the provider knows it by that and its command line (`--standby <this dir>`).
 * - **Background**: standbys are started one at a time, at the lowest CPU priority where the
 *   process may raise it again (root: an assigned guest takes the pool process's priority
 *   back), and only once no create of this process is under way, none began in the last
 *   second and the machine has CPU to spare (the guests of a burst work on after their
 *   creates returned), so refills do not compete with the creates they serve; on a machine
 *   that stays busy, one every 30 s.
 */

/** The pool's directory under the provider's data dir. */
export const GUEST_POOL_DIR = 'guest-pool';
/** The most standbys a pool keeps (each holds about 68 MiB, as an idle guest does). */
export const MAX_GUEST_POOL = 64;
/** The default `COFFER_LOCAL_GUEST_POOL`: a couple of creates at a time get a standby. */
export const DEFAULT_GUEST_POOL = 2;
const STARTING = '.starting.log';
const READY = '.ready.log';
const FILE = /^(\d+)-([0-9a-f]{12})\.(starting|ready)\.log$/;
const STANDBY_NICE = 19;
/**
 * The machine's idle share over half a second at which a refill may start: a quarter (half a
 * core of two). A burst's guests leave next to none (0-2 % measured); a machine with another
 * tenant busy on one core of two leaves about half.
 */
const SPARE_CPU_SHARE = 0.25;

/** Parses `COFFER_LOCAL_GUEST_POOL`: a count (0 or `off`: no pool); wrong is `UNAVAILABLE`. */
export function parseGuestPoolSize(value: string | undefined): number {
  const text = (value ?? '').trim().toLowerCase();
  if (text === '') return DEFAULT_GUEST_POOL;
  if (text === 'off') return 0;
  const size = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(size >= 0 && size <= MAX_GUEST_POOL)) {
    throw new ComputeError(
      'UNAVAILABLE',
      `COFFER_LOCAL_GUEST_POOL must be off or a count of standby guests from 0 to ${MAX_GUEST_POOL}, not ${JSON.stringify(value)}`,
    );
  }
  return size;
}

export interface StandbyGuest {
  readonly pid: number;
  /** Its stdout and stderr, until the provider renames the file to the instance's log. */
  readonly logPath: string;
}

interface Member extends StandbyGuest {
  logPath: string;
  readonly child: ChildProcess;
}

export interface GuestPoolOptions {
  dir: string;
  size: number;
  /** The guest's command (`--standby <dir>` is appended) and its whole environment. */
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  logger?: ComputeLogger;
  /** How long after a create began or ended refills wait (default 1 s). */
  quietMs?: number;
  /** How often a machine that stays busy gets a standby all the same (default 30 s). */
  busyRefillMs?: number;
  /** How long a standby may take to load (default 120 s; a loaded machine is slow). */
  readyTimeoutMs?: number;
  /** How long an assigned standby may take to answer (default 10 s). */
  assignTimeoutMs?: number;
}

export class GuestPool {
  private readonly options: Required<Omit<GuestPoolOptions, 'logger'>>;
  private readonly logger: ComputeLogger;
  private readonly ready: Member[] = [];
  private readonly loading = new Set<Member>();
  private creates = 0;
  private lastCreateAt = 0;
  private started = false;
  private stopped = false;
  private filling: Promise<void> | null = null;
  private again = false;
  /** Our nice value, which an assigned guest takes back. */
  private readonly priority = getPriority();
  /** Whether standbys wait at nice 19: only where an assigned one may raise its priority again. */
  private readonly niced = process.getuid?.() === 0;

  constructor(options: GuestPoolOptions) {
    this.options = {
      ...options,
      quietMs: options.quietMs ?? 1000,
      busyRefillMs: options.busyRefillMs ?? 30_000,
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
      assignTimeoutMs: options.assignTimeoutMs ?? 10_000,
    };
    this.logger = options.logger ?? silentLogger;
  }

  get size(): number {
    return this.options.size;
  }

  /** Standbys ready to be taken now. */
  get readyCount(): number {
    return this.ready.length;
  }

  /** Removes what pools of processes that are gone left, then fills the pool in the background. */
  start(): void {
    if (this.started || this.options.size === 0) return;
    this.started = true;
    this.removeStale();
    this.refill();
  }

  /** A create of this process is under way until the returned function is called: refills wait. */
  createBegins(): () => void {
    this.creates += 1;
    this.lastCreateAt = Date.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.creates -= 1;
      this.lastCreateAt = Date.now();
      this.refill();
    };
  }

  /** A ready standby, now the caller's (assign or discard it), or null when none is ready. */
  take(): StandbyGuest | null {
    for (;;) {
      const member = this.ready.shift();
      if (!member) return null;
      if (
        member.child.exitCode === null &&
        member.child.signalCode === null &&
        member.child.connected
      )
        return member;
    }
  }

  /**
   * Gives a taken standby its instance: resolves once it took it (and closed its channel),
   * rejects (`UNAVAILABLE`) when it refused, ended or did not answer in time. Either way the
   * standby is no longer the pool's.
   */
  async assign(
    standby: StandbyGuest,
    assign: Omit<GuestStandbyAssign, 'type' | 'priority'>,
  ): Promise<void> {
    const member = standby as Member;
    const { child } = member;
    const reply = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`no answer within ${this.options.assignTimeoutMs} ms`)),
        this.options.assignTimeoutMs,
      );
      const onMessage = (message: unknown) => finish(null, message);
      const onExit = () => finish(new Error('it ended'));
      const finish = (error: Error | null, message?: unknown) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(
        { type: 'assign', priority: this.priority, ...assign } satisfies GuestStandbyAssign,
        (error) => {
          if (error) finish(error);
        },
      );
    }).catch((error: unknown) => {
      throw new ComputeError(
        'UNAVAILABLE',
        `the standby guest ${member.pid} was not assigned: ${(error as Error).message}`,
        { cause: error },
      );
    });
    const parsed = guestStandbyReplySchema.safeParse(reply);
    if (!parsed.success || parsed.data.type !== 'assigned') {
      const reason =
        parsed.success && parsed.data.type === 'refused' ? parsed.data.reason : 'an unknown answer';
      throw new ComputeError('UNAVAILABLE', `the standby guest ${member.pid} refused: ${reason}`);
    }
    if (child.connected) child.disconnect();
    child.unref();
  }

  /** Stops a taken standby that will not be assigned (a failed assignment): killed, its log removed unless renamed. */
  async discard(standby: StandbyGuest): Promise<void> {
    await this.kill(standby as Member);
  }

  /** No more refills; every standby not taken is stopped (SIGKILL: none has started anything). */
  async stop(): Promise<void> {
    this.stopped = true;
    // The standbys and the pool's timers do not keep the process alive: this wait does.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      const members = [...this.ready, ...this.loading];
      this.ready.length = 0;
      await Promise.all(members.map((member) => this.kill(member)));
      await this.filling;
    } finally {
      clearInterval(keepAlive);
    }
  }

  private refill(): void {
    if (!this.started || this.stopped) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = null;
      if (this.again) {
        this.again = false;
        this.refill();
      }
    });
  }

  private async fill(): Promise<void> {
    let failures = 0;
    let made = 0;
    const began = Date.now();
    while (!this.stopped && this.ready.length < this.options.size) {
      await this.whenQuiet();
      if (this.stopped || this.ready.length >= this.options.size) break;
      if (!this.ensureDir()) {
        setTimeout(() => this.refill(), 2000).unref();
        return;
      }
      try {
        await this.startOne();
        made += 1;
        failures = 0;
      } catch (error) {
        // Stopped meanwhile (stop kills a standby that is loading): nothing went wrong.
        if (this.stopped) return;
        failures += 1;
        this.logger.warn(
          { dir: this.options.dir, err: (error as Error).message, failures },
          'guest pool: a standby did not start',
        );
        if (failures >= 5) {
          this.logger.error(
            { dir: this.options.dir },
            'guest pool: five standbys in a row did not start; creates start their guests themselves until the next create',
          );
          return;
        }
        await delay(1000 * 2 ** failures, undefined, { ref: false });
      }
    }
    if (made > 0) {
      this.logger.info(
        { made, ready: this.ready.length, ms: Date.now() - began },
        'guest pool filled',
      );
    }
  }

  /**
   * Until no create of this process is under way, none began within `quietMs`, and the machine
   * has CPU to spare (SPARE_CPU_SHARE: the guests of a burst of creates work on long after their
   * creates returned); a machine that stays busy gets a standby every `busyRefillMs` all the
   * same, at its low priority.
   */
  private async whenQuiet(): Promise<void> {
    let busySince: number | null = null;
    while (!this.stopped) {
      if (this.creates === 0 && Date.now() - this.lastCreateAt >= this.options.quietMs) {
        if ((await idleShare(500)) >= SPARE_CPU_SHARE) return;
        busySince ??= Date.now();
        if (Date.now() - busySince >= this.options.busyRefillMs) return;
      } else {
        busySince = null;
      }
      await delay(200, undefined, { ref: false });
    }
  }

  private async startOne(): Promise<void> {
    const { dir } = this.options;
    const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
    const startingLog = join(dir, `${id}${STARTING}`);
    const output = openSync(startingLog, 'a', 0o640);
    const guest = [this.options.command, ...this.options.args, GUEST_STANDBY_FLAG, dir];
    const [command, ...args] = this.niced ? ['nice', '-n', String(STANDBY_NICE), ...guest] : guest;
    let child: ChildProcess;
    try {
      child = spawn(command!, args, {
        cwd: dir,
        detached: true,
        stdio: ['ignore', output, output, 'ipc'],
        env: this.options.env as unknown as NodeJS.ProcessEnv,
      });
    } finally {
      closeSync(output);
    }
    // Until it is taken, the pool's process may exit without waiting for it (it then exits too).
    child.unref();
    child.channel?.unref();
    const member: Member = { pid: child.pid ?? -1, logPath: startingLog, child };
    this.loading.add(member);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`not ready within ${this.options.readyTimeoutMs} ms`)),
          this.options.readyTimeoutMs,
        );
        const onMessage = (message: unknown) => {
          if ((message as { type?: unknown } | null)?.type === 'ready') finish(null);
        };
        const onExit = (code: number | null, signal: string | null) =>
          finish(new Error(`it ended (${signal ?? `exit code ${code}`}): ${tail(member.logPath)}`));
        const onError = (error: Error) => finish(error);
        const finish = (error: Error | null) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          child.off('error', onError);
          if (error) reject(error);
          else resolve();
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.once('error', onError);
      });
    } catch (error) {
      await this.kill(member);
      throw error;
    } finally {
      this.loading.delete(member);
    }
    if (this.stopped) {
      await this.kill(member);
      return;
    }
    const readyLog = join(dir, `${id}${READY}`);
    renameSync(member.logPath, readyLog);
    member.logPath = readyLog;
    // One that ends while it waits (killed by someone) leaves the pool and its log goes.
    child.once('exit', () => {
      const at = this.ready.indexOf(member);
      if (at < 0) return;
      this.ready.splice(at, 1);
      rmSync(member.logPath, { force: true });
      this.logger.warn({ pid: member.pid }, 'guest pool: a standby ended while it waited');
      this.refill();
    });
    this.ready.push(member);
  }

  private async kill(member: Member): Promise<void> {
    const { child } = member;
    // A child that never started (its spawn failed) will never say it exited.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    // Still the pool's file (not renamed to an instance's log): removed.
    if (member.logPath.startsWith(`${this.options.dir}/`)) rmSync(member.logPath, { force: true });
  }

  /** The pool's directory, made when the data dir exists; false when it does not yet. */
  private ensureDir(): boolean {
    if (existsSync(this.options.dir)) return true;
    if (!existsSync(dirname(this.options.dir))) return false;
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    return true;
  }

  /** Files of pools whose process is gone (their standbys exited with it). */
  private removeStale(): void {
    if (!existsSync(this.options.dir)) return;
    for (const name of readdirSync(this.options.dir)) {
      const match = FILE.exec(name);
      if (match && !pidExists(Number(match[1])))
        rmSync(join(this.options.dir, name), { force: true });
    }
  }
}

/** The share of the machine's CPU time spent idle over the next `ms` (/proc/stat; 1 where it cannot be read). */
async function idleShare(ms: number): Promise<number> {
  const read = () => {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
      const ticks = fields.slice(1, 9).map(Number);
      // user nice system idle iowait irq softirq steal
      return { idle: ticks[3]! + ticks[4]!, total: ticks.reduce((sum, each) => sum + each, 0) };
    } catch {
      return null;
    }
  };
  const before = read();
  await delay(ms, undefined, { ref: false });
  const after = read();
  if (!before || !after || after.total <= before.total) return 1;
  return (after.idle - before.idle) / (after.total - before.total);
}

/** The last lines of a standby's log, for a warning. */
function tail(path: string): string {
  try {
    return (
      readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(-600) ||
      '(no output)'
    );
  } catch {
    return '(no output)';
  }
}
