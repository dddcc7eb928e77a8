import 'server-only';

import { EventEmitter, on } from 'node:events';

import { changeEventSchema, EVENTS_CHANNEL, type ChangeEvent } from '@coffer/contracts';
import { Redis } from 'ioredis';

import { env } from '~/env';
import { logger } from '~/server/logger';

/**
 * The conductor's and taskmanager's change events, fanned out inside this web process: one
 * Redis subscriber connection, however many browsers listen. Subscribers filter by project
 * before anything reaches a browser.
 */
class ChangeFeed extends EventEmitter {
  private subscriber: Redis | null = null;

  private ensureSubscribed() {
    if (this.subscriber) return;
    const subscriber = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    subscriber.on('error', (error) => logger.warn({ err: error }, 'change feed: redis error'));
    subscriber.subscribe(EVENTS_CHANNEL).catch((error: unknown) => logger.error({ err: error }, 'change feed: subscribe failed'));
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        const event = changeEventSchema.parse(JSON.parse(message));
        this.emit('change', event);
      } catch (error) {
        logger.warn({ err: error }, 'change feed: dropped a malformed event');
      }
    });
    this.subscriber = subscriber;
  }

  /**
   * Change events until `signal` aborts. Listening starts at this call (events are buffered
   * until read), so a caller can take a snapshot afterwards without missing anything between.
   */
  listen(signal: AbortSignal | undefined): AsyncGenerator<ChangeEvent> {
    this.ensureSubscribed();
    const iterator = on(this, 'change', { signal });
    return (async function* () {
      try {
        for await (const [event] of iterator) yield event as ChangeEvent;
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    })();
  }
}

const globalForFeed = globalThis as unknown as { cofferChangeFeed?: ChangeFeed };
export const changeFeed: ChangeFeed = (globalForFeed.cofferChangeFeed ??= new ChangeFeed());
changeFeed.setMaxListeners(0);

const globalForPublisher = globalThis as unknown as { cofferEventPublisher?: Redis };

/** Tells every console (in every web process) that something changed; call after commit. */
export async function publishChange(event: Omit<ChangeEvent, 'at'>): Promise<void> {
  const publisher = (globalForPublisher.cofferEventPublisher ??= new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 }));
  try {
    await publisher.publish(EVENTS_CHANNEL, JSON.stringify({ ...event, at: Date.now() }));
  } catch (error) {
    // Live updates are a convenience: the write itself has already succeeded.
    logger.warn({ err: error }, 'could not publish a change event');
  }
}
