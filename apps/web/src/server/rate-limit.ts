import 'server-only';

import { type Redis } from 'ioredis';

import { logger } from '~/server/logger';

/**
 * Fixed-window rate limiting in Redis, shared by every web process: one counter per key and
 * window, incremented and given its expiry in one atomic script, so concurrent requests
 * cannot all slip past a stale read. Used for the API (per user or token) and for sign-in
 * (as better-auth's rate-limit storage, and per account).
 */

export interface RateLimitRule {
  /** Requests allowed per window; 0 turns the limit off. */
  max: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  isAllowed: boolean;
  /** Seconds until the window frees up (when not allowed). */
  retryAfterSeconds: number;
}

const KEY_PREFIX = 'coffer:ratelimit:';

// INCR the window's counter; the first request of a window sets its expiry. Returns the count
// and the milliseconds the window has left.
const CONSUME_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { count, ttl }
`;

/**
 * Counts one request against `key` and says whether it is within `rule`. When Redis cannot be
 * reached the request is allowed (and the failure logged): a limiter must not take the whole
 * API down with it.
 */
export async function consumeRateLimit(
  redis: Redis,
  key: string,
  rule: RateLimitRule,
): Promise<RateLimitDecision> {
  if (rule.max <= 0) return { isAllowed: true, retryAfterSeconds: 0 };
  const windowMs = rule.windowSeconds * 1000;
  try {
    const [count, ttlMs] = (await redis.eval(
      CONSUME_SCRIPT,
      1,
      `${KEY_PREFIX}${key}`,
      String(windowMs),
    )) as [number, number];
    if (count <= rule.max) return { isAllowed: true, retryAfterSeconds: 0 };
    return { isAllowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
  } catch (error) {
    logger.warn({ err: error, key }, 'rate limit: redis unavailable, request allowed');
    return { isAllowed: true, retryAfterSeconds: 0 };
  }
}

/** "Try again in 1 minute" / "in 12 seconds": when a limited caller may retry, in words. */
export function describeRetryAfter(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
