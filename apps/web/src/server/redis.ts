import 'server-only';

import { Redis } from 'ioredis';

import { env } from '~/env';
import { logger } from '~/server/logger';

const globalForRedis = globalThis as unknown as { cofferRedis?: Redis };

/**
 * The web process's Redis connection for short commands (rate-limit counters). Commands fail
 * fast when Redis is away instead of queueing: callers decide what a failure means.
 */
export function getRedis(): Redis {
  if (!globalForRedis.cofferRedis) {
    const redis = new Redis(env.REDIS_URL, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 5_000,
    });
    redis.on('error', (error) => logger.warn({ err: error }, 'redis: connection error'));
    globalForRedis.cofferRedis = redis;
  }
  return globalForRedis.cofferRedis;
}
