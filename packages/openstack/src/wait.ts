/**
 * Waiting for a resource's state. OpenStack has no event stream a client can subscribe to
 * without its notification bus, so the client polls the resource (shortly at first, then less
 * often) until it is in the wanted state, fails, or the deadline passes.
 */

export type WaitFailure =
  /** The resource reached a failed state (a server in ERROR, a volume in error_extending). */
  | 'FAULT'
  /** The deadline passed first. */
  | 'TIMEOUT'
  /** The resource disappeared while it was awaited in another state. */
  | 'GONE';

export interface WaitErrorDetails {
  reason: WaitFailure;
  /** `server`, `volume`… */
  resource: string;
  id: string;
  /** What was awaited, e.g. `ACTIVE` or `deleted`. */
  wanted: string;
  /** The last state seen (`ERROR`, `BUILD/spawning`…), absent when never seen. */
  lastState?: string;
  /** The resource's own account of its failure (Nova's server fault), when it gives one. */
  fault?: string;
  waitedMs: number;
}

/** A wait that ended without the wanted state: the message names the resource, its state and fault. */
export class OpenStackWaitError extends Error {
  readonly reason: WaitFailure;
  readonly resource: string;
  readonly id: string;
  readonly wanted: string;
  readonly lastState?: string;
  readonly fault?: string;
  readonly waitedMs: number;

  constructor(details: WaitErrorDetails) {
    const state = details.lastState ? ` (last seen ${details.lastState})` : '';
    const head =
      details.reason === 'TIMEOUT'
        ? `${details.resource} ${details.id} did not become ${details.wanted} within ${details.waitedMs} ms${state}`
        : details.reason === 'GONE'
          ? `${details.resource} ${details.id} disappeared while waiting for ${details.wanted}${state}`
          : `${details.resource} ${details.id} went to ${details.lastState ?? 'an error state'} while waiting for ${details.wanted}`;
    super(details.fault ? `${head}: ${details.fault}` : head);
    this.name = 'OpenStackWaitError';
    this.reason = details.reason;
    this.resource = details.resource;
    this.id = details.id;
    this.wanted = details.wanted;
    this.lastState = details.lastState;
    this.fault = details.fault;
    this.waitedMs = details.waitedMs;
  }
}

export interface WaitOptions {
  /** How long to wait in all (default 5 min). */
  timeoutMs?: number;
  /** First pause between looks (default 200 ms); grows by half each time up to `maxIntervalMs`. */
  intervalMs?: number;
  /** Longest pause between looks (default 2 s). */
  maxIntervalMs?: number;
  /** Stops the wait early (the abort's reason is thrown). */
  signal?: AbortSignal;
  /** Waits between looks; tests may pass an instant one. */
  sleep?: (ms: number) => Promise<void>;
}

/** What one look at the resource says. */
export type Look<T> =
  | { done: true; value: T }
  | { done: false; state?: string }
  | { done: false; failed: true; state?: string; fault?: string; gone?: boolean };

/**
 * Looks at a resource until `look` says it is done or failed, or `timeoutMs` passes; throws an
 * OpenStackWaitError naming the resource, what was awaited, the last state and the fault.
 */
export async function waitFor<T>(
  what: { resource: string; id: string; wanted: string },
  look: () => Promise<Look<T>>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const maxInterval = options.maxIntervalMs ?? 2_000;
  const sleep = options.sleep ?? defaultSleep;
  const started = Date.now();
  let interval = options.intervalMs ?? 200;
  let lastState: string | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const seen = await look();
    if (seen.done) return seen.value;
    lastState = seen.state ?? lastState;
    const waitedMs = Date.now() - started;
    if ('failed' in seen)
      throw new OpenStackWaitError({
        ...what,
        reason: seen.gone ? 'GONE' : 'FAULT',
        lastState,
        fault: seen.fault,
        waitedMs,
      });
    if (waitedMs >= timeoutMs)
      throw new OpenStackWaitError({ ...what, reason: 'TIMEOUT', lastState, waitedMs });
    await sleep(Math.min(interval, timeoutMs - waitedMs));
    interval = Math.min(maxInterval, Math.round(interval * 1.5));
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
