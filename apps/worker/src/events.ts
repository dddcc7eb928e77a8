import { EventEmitter } from 'node:events';

import { changeEventSchema, type ChangeEvent } from '@coffer/contracts';
import { type Redis } from 'ioredis';

import { type Logger } from './logger';

/**
 * Change events on Redis pub/sub (contracts events.ts): the taskmanager and the conductor
 * publish one after each commit that changes what users see; the web app fans them out to
 * browsers. The taskmanager also listens, to wake up as soon as the guest's status lands.
 */

export class ChangePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  /** Never throws: live updates are a convenience, the write has already been committed. */
  async publish(event: Omit<ChangeEvent, 'at'>): Promise<void> {
    try {
      const full = changeEventSchema.parse({ ...event, at: Date.now() });
      await this.redis.publish(this.channel, JSON.stringify(full));
    } catch (error) {
      this.logger.warn({ err: error, event }, 'could not publish a change event');
    }
  }
}

/** One subscriber connection per process; listeners per instance id. */
export class ChangeFeed {
  private readonly emitter = new EventEmitter();
  private isStarted = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.isStarted) return;
    this.isStarted = true;
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let event: ChangeEvent;
      try {
        event = changeEventSchema.parse(JSON.parse(message));
      } catch {
        this.logger.debug('ignored a malformed change event');
        return;
      }
      this.emitter.emit(event.instanceId, event);
    });
    // After a reconnect ioredis subscribes again by itself; waiters re-read the row on a timer meanwhile.
    await this.subscriber.subscribe(this.channel);
  }

  /** Calls `listener` on every change event of this instance; returns the unsubscribe function. */
  onInstance(instanceId: string, listener: (event: ChangeEvent) => void): () => void {
    this.emitter.on(instanceId, listener);
    return () => this.emitter.off(instanceId, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    if (this.isStarted) {
      await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
    }
  }
}

export class AbortedError extends Error {
  constructor(readonly reason: unknown) {
    super(`aborted: ${String(reason instanceof Error ? reason.message : reason)}`);
    this.name = 'AbortedError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

/** `promise`, or an AbortedError as soon as `signal` aborts (the work itself goes on). */
export async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  // If the abort wins, a later rejection of `promise` must not go unhandled.
  promise.catch(() => undefined);
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(new AbortedError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export interface WaitOptions {
  timeoutMs: number;
  /** Re-read this often even without an event (a missed message, a reconnecting subscriber). */
  fallbackMs: number;
  signal?: AbortSignal;
}

export type WaitOutcome<T> = { isTimedOut: false; value: T } | { isTimedOut: true };

/**
 * Waits until `check(read())` returns something other than undefined: re-reads when a change
 * event for the instance arrives, and every `fallbackMs` regardless. Listening starts before
 * the first read, so no event between a read and the wait is lost.
 */
export async function waitForInstance<R, T>(
  feed: ChangeFeed,
  instanceId: string,
  read: () => Promise<R>,
  check: (row: R) => T | undefined,
  { timeoutMs, fallbackMs, signal }: WaitOptions,
): Promise<WaitOutcome<T>> {
  const deadline = Date.now() + timeoutMs;
  let isDirty = false;
  let wake: (() => void) | null = null;
  const unsubscribe = feed.onInstance(instanceId, () => {
    isDirty = true;
    wake?.();
  });
  try {
    for (;;) {
      throwIfAborted(signal);
      isDirty = false;
      const value = check(await read());
      if (value !== undefined) return { isTimedOut: false, value };
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { isTimedOut: true };
      if (isDirty || signal?.aborted) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(fallbackMs, remaining));
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          wake = null;
          resolve();
        }
        wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    unsubscribe();
  }
}
