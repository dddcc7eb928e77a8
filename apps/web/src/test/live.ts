import { type DisplayStatus } from '@coffer/contracts';

/**
 * Waiting on the live feed as the console does: `instance.onChange` read until the instance
 * shows the status awaited, for the web tests that run the real worker.
 */

/** A subscription's value: `tracked(id, data)` arrives as `[id, data, marker]` when called directly. */
export function changeOf(envelope: unknown): {
  type: string;
  instance?: { id: string; status: DisplayStatus };
  instanceId?: string;
} {
  return (Array.isArray(envelope) ? envelope[1] : envelope) as never;
}

/**
 * Reads the live subscription until the instance shows one of `statuses`, or fails after
 * `timeoutMs` (the feed is closed then); returns the statuses it went through, in order.
 */
export async function waitForStatus(
  iterable: AsyncIterable<unknown>,
  instanceId: string,
  statuses: DisplayStatus[],
  timeoutMs = 90_000,
): Promise<DisplayStatus[]> {
  const seen: DisplayStatus[] = [];
  const timer = setTimeout(() => void (iterable as AsyncGenerator).return?.(undefined), timeoutMs);
  try {
    for await (const envelope of iterable) {
      const change = changeOf(envelope);
      if (change.type !== 'changed' || change.instance?.id !== instanceId) continue;
      if (seen.at(-1) !== change.instance.status) seen.push(change.instance.status);
      if (statuses.includes(change.instance.status)) return seen;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(
    `instance ${instanceId} did not reach ${statuses.join('/')} in ${timeoutMs} ms (saw ${seen.join(' → ')})`,
  );
}
