import 'server-only';

import { EVENTS_CHANNEL, type ChangeEvent } from '@coffer/contracts';
import { ChangeFeed, ChangePublisher } from '@coffer/runtime/change-feed';
import { Redis } from 'ioredis';

import { env } from '~/env';
import { logger } from '~/server/logger';

/**
 * The conductor's and taskmanager's change events (@coffer/runtime/change-feed), fanned out
 * inside this web process: one Redis subscriber connection, made when the first browser
 * listens, however many listen. Subscribers filter by project before anything reaches a
 * browser. One per process (globalThis: Next's dev server reloads modules).
 */
const globalForFeed = globalThis as unknown as {
  cofferChangeFeed?: ChangeFeed;
  cofferChangePublisher?: ChangePublisher;
};

export const changeFeed: ChangeFeed = (globalForFeed.cofferChangeFeed ??= new ChangeFeed(
  () => {
    const subscriber = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    subscriber.on('error', (error) => logger.warn({ err: error }, 'change feed: redis error'));
    return subscriber;
  },
  EVENTS_CHANNEL,
  logger,
));

const publisher: ChangePublisher = (globalForFeed.cofferChangePublisher ??= new ChangePublisher(
  () => new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 }),
  EVENTS_CHANNEL,
  logger,
));

/** Tells every console (in every web process) that something changed; call after commit. Never throws. */
export async function publishChange(event: Omit<ChangeEvent, 'at'>): Promise<void> {
  await publisher.publish(event);
}
