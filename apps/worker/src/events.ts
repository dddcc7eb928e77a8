import { type ChangeFeed } from '@coffer/runtime/change-feed';

/**
 * The change feed itself (publisher and subscriber of Redis pub/sub) is @coffer/runtime's,
 * shared with the web app; here is what the taskmanager builds on it: waiting for an
 * instance's row to change, and giving up when its job is aborted.
 */
export { ChangeFeed, ChangePublisher } from '@coffer/runtime/change-feed';

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
