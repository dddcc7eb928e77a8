import { hostname } from 'node:os';

import {
  rolePresenceKeys,
  rolePresenceMember,
  rolePresenceSchema,
  type RolePresence,
} from '@coffer/contracts';
import { type Redis } from 'ioredis';

import { type Logger } from './logger';
import { type WorkerRole } from './worker';

export interface RolePresenceOptions {
  /** A connection of its own (closed by `stop`). */
  redis: Redis;
  roles: readonly WorkerRole[];
  /** The taskmanager queue's prefix: the console reads the roles of its own queue. */
  queuePrefix: string;
  /** How often the process beats (the heartbeat interval). */
  intervalMs: number;
  /** How long a beat counts (the heartbeat expiry): a process silent this long is down. */
  expiryMs: number;
  /** How many times the supervisor started these roles again before this process. */
  restarts: number;
  logger: Logger;
}

export interface RunningRolePresence {
  /** The first beat, once written (tests). */
  readonly ready: Promise<void>;
  /** Records the clean stop (the roles show down at once, with the time) and closes the connection. */
  stop(): Promise<void>;
}

/**
 * The presence of this process's roles in Redis (contracts' worker-roles.ts), for the console's
 * Admin page: a live key per role that expires when the process stops beating, and the last
 * record of each process in the registry. At start, the records of processes of the same roles
 * on this host that are gone (no such pid, or no beat within the expiry) are dropped, live keys
 * too: this process replaces them (the supervisor starts a role again well within the expiry).
 */
export function startRolePresence(options: RolePresenceOptions): RunningRolePresence {
  const { redis, roles, logger } = options;
  const keys = rolePresenceKeys(options.queuePrefix);
  const host = hostname();
  const startedAt = new Date().toISOString();
  const records = roles.map((role): RolePresence => ({
    role,
    host,
    pid: process.pid,
    startedAt,
    lastBeatAt: startedAt,
    restarts: options.restarts,
    stoppedAt: null,
  }));

  const dropReplaced = async () => {
    const registry = await redis.hgetall(keys.registry);
    for (const [member, value] of Object.entries(registry)) {
      const parsed = rolePresenceSchema.safeParse(safeJson(value));
      if (!parsed.success) continue;
      const other = parsed.data;
      if (other.host !== host || other.pid === process.pid || !roles.includes(other.role)) continue;
      if (isProcessAlive(other.pid) && (await redis.exists(keys.live(member))) === 1) continue;
      await redis.multi().del(keys.live(member)).hdel(keys.registry, member).exec();
    }
  };

  const write = async (stoppedAt: string | null) => {
    const now = new Date().toISOString();
    const transaction = redis.multi();
    for (const record of records) {
      record.lastBeatAt = now;
      record.stoppedAt = stoppedAt;
      const member = rolePresenceMember(record);
      const value = JSON.stringify(record);
      if (stoppedAt) transaction.del(keys.live(member));
      else transaction.set(keys.live(member), value, 'PX', options.expiryMs);
      transaction.hset(keys.registry, member, value);
    }
    await transaction.exec();
  };

  let isFailing = false;
  const beat = async () => {
    try {
      await write(null);
      if (isFailing) logger.info('role presence written again');
      isFailing = false;
    } catch (error) {
      if (!isFailing) logger.warn({ err: error }, 'could not write the role presence');
      isFailing = true;
    }
  };

  const ready = (async () => {
    await dropReplaced().catch((error: unknown) =>
      logger.warn({ err: error }, 'could not drop replaced role records'),
    );
    await beat();
  })();
  const timer = setInterval(() => void beat(), options.intervalMs);
  timer.unref();

  let stopping: Promise<void> | null = null;
  return {
    ready,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await ready;
        // A Redis that does not answer must not hold the shutdown: at most 2 s.
        const recorded = write(new Date().toISOString()).catch((error: unknown) =>
          logger.warn({ err: error }, 'could not record the roles stopped'),
        );
        await Promise.race([
          recorded,
          new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
        ]);
        redis.disconnect();
      })();
      return stopping;
    },
  };
}

/** Whether a process of this host runs with that pid. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
