import { randomBytes } from 'node:crypto';

import { type Redis } from 'ioredis';

/**
 * A lease in Redis (SET NX PX, released only by its holder): so that of several workers only
 * one runs a watchdog sweep at a time. A holder that dies loses the lease when it expires.
 */
export class RedisLease {
  private readonly token = randomBytes(12).toString('hex');

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    const result = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    return result === 'OK';
  }

  async release(): Promise<void> {
    await this.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
      1,
      this.key,
      this.token,
    );
  }

  /** Runs `task` while holding the lease; false (and `task` not run) when another worker holds it. */
  async runExclusive(task: () => Promise<void>): Promise<boolean> {
    if (!(await this.acquire())) return false;
    try {
      await task();
    } finally {
      await this.release().catch(() => undefined);
    }
    return true;
  }
}
