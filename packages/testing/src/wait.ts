import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polling with a deadline, the one way the tests wait for something that happens elsewhere
 * (a row, a process, an API's answer). A read that throws is tried again until the deadline
 * (a server still starting refuses connections); the failure names what was awaited and the
 * last value or error seen, so a timeout says where things stood.
 */

export interface WaitOptions {
  timeoutMs: number;
  /** Between reads (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the error: "instance x to be ACTIVE". */
  what: string;
}

/** Until `until(value)` holds for what `read` returns; returns that value. */
export async function waitFor<T>(
  read: () => Promise<T> | T,
  options: WaitOptions & { until: (value: T) => boolean },
): Promise<T>;
/** Until `condition` returns something truthy; returns it. */
export async function waitFor<T>(
  condition: () => Promise<T> | T,
  options: WaitOptions,
): Promise<NonNullable<T>>;
export async function waitFor<T>(
  read: () => Promise<T> | T,
  {
    timeoutMs,
    intervalMs = 50,
    what,
    until = Boolean,
  }: WaitOptions & { until?: (value: T) => boolean },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (until(value)) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${describe(last)})`,
      );
    await delay(intervalMs);
  }
}

function describe(value: unknown): string {
  if (value instanceof Error || typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
