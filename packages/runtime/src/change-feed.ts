import { EventEmitter, on } from 'node:events';

import { changeEventSchema, type ChangeEvent } from '@coffer/contracts';
import { type Redis } from 'ioredis';

import { type Logger } from './logger';

/**
 * Change events on Redis pub/sub (contracts events.ts): the web app, the taskmanager and the
 * conductor publish one after each commit that changes what users see. The web app fans them
 * out to browsers; the taskmanager listens to wake up as soon as a guest's status lands.
 *
 * A connection may be given as a function: it is then made on first use (the web app opens
 * none until a browser listens or something is published).
 */
export type ConnectionSource = Redis | (() => Redis);

function lazily(source: ConnectionSource): () => Redis {
  let connection: Redis | null = typeof source === 'function' ? null : source;
  return () => (connection ??= (source as () => Redis)());
}

export class ChangePublisher {
  private readonly connection: () => Redis;

  constructor(
    redis: ConnectionSource,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.connection = lazily(redis);
  }

  /** Never throws: live updates are a convenience, the write has already been committed. */
  async publish(event: Omit<ChangeEvent, 'at'>): Promise<void> {
    try {
      const full = changeEventSchema.parse({ ...event, at: Date.now() });
      await this.connection().publish(this.channel, JSON.stringify(full));
    } catch (error) {
      this.logger.warn({ err: error, event }, 'could not publish a change event');
    }
  }
}

/** One subscriber connection per process, however many listeners. */
export class ChangeFeed {
  private readonly emitter = new EventEmitter();
  private readonly connection: () => Redis;
  private starting: Promise<void> | null = null;

  constructor(
    subscriber: ConnectionSource,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.connection = lazily(subscriber);
    this.emitter.setMaxListeners(0);
  }

  /** Subscribes (once; later calls wait for the same subscription). */
  start(): Promise<void> {
    this.starting ??= this.subscribe();
    return this.starting;
  }

  private async subscribe(): Promise<void> {
    const subscriber = this.connection();
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let event: ChangeEvent;
      try {
        event = changeEventSchema.parse(JSON.parse(message));
      } catch (error) {
        this.logger.warn({ err: error }, 'change feed: dropped a malformed event');
        return;
      }
      this.emitter.emit('change', event);
      // A new metrics sample changes no row: waiters on the instance's row need not re-read.
      if (event.type !== 'instance.metrics')
        this.emitter.emit(`instance:${event.instanceId}`, event);
    });
    // After a reconnect ioredis subscribes again by itself; waiters re-read on a timer meanwhile.
    await subscriber.subscribe(this.channel);
  }

  /** Calls `listener` on every change event of this instance; returns the unsubscribe function. */
  onInstance(instanceId: string, listener: (event: ChangeEvent) => void): () => void {
    const name = `instance:${instanceId}`;
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /**
   * Every change event until `signal` aborts. Listening starts at this call (events are
   * buffered until read), so a caller can take a snapshot afterwards without missing anything
   * in between; the subscription starts here too if nothing started it.
   */
  listen(signal: AbortSignal | undefined): AsyncGenerator<ChangeEvent> {
    this.start().catch((error: unknown) =>
      this.logger.error({ err: error }, 'change feed: subscribe failed'),
    );
    const iterator = on(this.emitter, 'change', { signal });
    return (async function* () {
      try {
        for await (const [event] of iterator) yield event as ChangeEvent;
      } catch (error) {
        if ((error as Error).name !== 'AbortError') throw error;
      }
    })();
  }

  /** Drops every listener and unsubscribes (the connection stays its owner's to close). */
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    if (this.starting) {
      await this.connection()
        .unsubscribe(this.channel)
        .catch(() => undefined);
    }
  }
}
