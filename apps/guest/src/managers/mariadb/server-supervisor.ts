import { type Logger } from 'pino';

/**
 * Keeps the database server running while the guest wants it to run (as systemd's
 * `Restart=on-failure` would, with a crash-loop bound): a server that died without being asked
 * to stop is started again after a backoff (1 s, 2 s, 4 s, … at most a minute); after
 * `maxRestarts` restarts within `windowMs` it stops trying and says so once (`onGiveUp`).
 *
 * It never fights a deliberate stop: it acts only while `shouldRun()` holds (the manager clears
 * it before any stop it makes: restart, stop_db, prepare or a restore, the guest's own shutdown),
 * and each restart runs under the guest's lock for server-changing work, after checking
 * again that the server is still down and still wanted.
 */

export interface RestartPolicy {
  /** The first restart's delay; each next one doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Restarts allowed within `windowMs` before the supervisor gives up. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRestarts: 5,
  windowMs: 10 * 60_000,
};

/** The restarts within the window, and what comes next: a delay, or giving up (pure). */
export class RestartBudget {
  private restarts: number[] = [];

  constructor(private readonly policy: RestartPolicy) {}

  /** The delay before the next restart, or null when the window's restarts are used up. */
  nextDelayMs(now: number): number | null {
    this.restarts = this.restarts.filter((at) => now - at < this.policy.windowMs);
    if (this.restarts.length >= this.policy.maxRestarts) return null;
    return Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** this.restarts.length);
  }

  record(now: number): number {
    this.restarts.push(now);
    return this.restarts.length;
  }

  reset(): void {
    this.restarts = [];
  }
}

export interface ServerSupervisorOptions {
  policy?: RestartPolicy;
  /** How often the server's process is looked at (a pid file and /proc: cheap). */
  pollIntervalMs: number;
  /** Whether the guest wants the server running now (prepared, and no stop asked for). */
  shouldRun: () => boolean;
  /** Whether our server process is alive (alive but not answering is not a death). */
  isAlive: () => boolean;
  /** Runs `task` under the guest's lock for work that changes the server. */
  runExclusive: <T>(task: () => Promise<T>) => Promise<T>;
  /** Starts the server; throws when it does not come up. */
  start: () => Promise<void>;
  onRestarted: (restart: { count: number; policy: RestartPolicy }) => void;
  onGiveUp: (outcome: { restarts: number; policy: RestartPolicy; lastError: unknown }) => void;
  logger: Logger;
}

export class ServerSupervisor {
  readonly policy: RestartPolicy;
  private readonly budget: RestartBudget;
  private timer: NodeJS.Timeout | null = null;
  private wakeFromBackoff: (() => void) | null = null;
  private isStopped = true;
  private isRestarting = false;
  private gaveUp = false;
  private lastError: unknown = null;

  constructor(private readonly options: ServerSupervisorOptions) {
    this.policy = options.policy ?? DEFAULT_RESTART_POLICY;
    this.budget = new RestartBudget(this.policy);
  }

  /** True once it stopped trying (until a deliberate start: `reset`). */
  get hasGivenUp(): boolean {
    return this.gaveUp;
  }

  start(): void {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.schedule();
  }

  /** The guest is stopping: no restart from now on (one waiting for its backoff is dropped). */
  stop(): void {
    this.isStopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wakeFromBackoff?.();
  }

  /** A deliberate (re)start or a prepare: a fresh budget, and supervision again if it had given up. */
  reset(): void {
    this.budget.reset();
    this.gaveUp = false;
    this.lastError = null;
  }

  private schedule(): void {
    if (this.isStopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.check()
        .catch((error: unknown) =>
          this.options.logger.error({ err: error }, 'supervising the database server failed'),
        )
        .finally(() => this.schedule());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private isDown(): boolean {
    return !this.isStopped && this.options.shouldRun() && !this.options.isAlive();
  }

  /** One look: if the server died unasked, wait out the backoff and start it (or give up). */
  async check(): Promise<void> {
    if (this.isRestarting || this.gaveUp || !this.isDown()) return;
    this.isRestarting = true;
    try {
      const delayMs = this.budget.nextDelayMs(Date.now());
      if (delayMs === null) {
        await this.options.runExclusive(async () => {
          if (!this.isDown()) return;
          this.gaveUp = true;
          this.options.logger.error(
            { restarts: this.policy.maxRestarts, windowMs: this.policy.windowMs },
            'the database server keeps dying: no more restarts',
          );
          this.options.onGiveUp({
            restarts: this.policy.maxRestarts,
            policy: this.policy,
            lastError: this.lastError,
          });
        });
        return;
      }
      this.options.logger.warn(
        { delayMs },
        'the database server died without being asked to stop: starting it again',
      );
      await this.backoff(delayMs);
      await this.options.runExclusive(async () => {
        // A deliberate stop, a restore or the guest's shutdown may have come meanwhile.
        if (!this.isDown()) return;
        const count = this.budget.record(Date.now());
        try {
          await this.options.start();
        } catch (error) {
          this.lastError = error;
          this.options.logger.error(
            { err: error, restart: count },
            'the database server did not start again',
          );
          return;
        }
        this.lastError = null;
        this.options.logger.info({ restart: count }, 'the database server was started again');
        this.options.onRestarted({ count, policy: this.policy });
      });
    } finally {
      this.isRestarting = false;
    }
  }

  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeFromBackoff = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFromBackoff = done;
    });
  }
}
