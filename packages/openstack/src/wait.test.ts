// The wait helper on its own: looks until done, a fault or a disappearance ends it at once
// with the resource's own words, the deadline with the last state seen.
import { describe, expect, it } from 'vitest';
import { OpenStackWaitError, waitFor, type Look } from './wait';

const what = { resource: 'server', id: 'srv-1', wanted: 'ACTIVE' };
const instant = { sleep: () => Promise.resolve() };

function looks<T>(...answers: Look<T>[]) {
  let i = 0;
  const seen: number[] = [];
  return {
    seen,
    look: () => {
      seen.push(i);
      return Promise.resolve(answers[Math.min(i++, answers.length - 1)]!);
    },
  };
}

describe('waitFor', () => {
  it('looks again until the resource is done, with growing pauses up to the cap', async () => {
    const pauses: number[] = [];
    const { look, seen } = looks<string>(
      { done: false, state: 'BUILD' },
      { done: false, state: 'BUILD' },
      { done: false, state: 'BUILD' },
      { done: true, value: 'ok' },
    );
    const value = await waitFor(what, look, {
      intervalMs: 100,
      maxIntervalMs: 200,
      sleep: (ms) => {
        pauses.push(ms);
        return Promise.resolve();
      },
    });
    expect(value).toBe('ok');
    expect(seen).toHaveLength(4);
    expect(pauses).toEqual([100, 150, 200]);
  });

  it('fails at once on a fault, naming the resource, its state and the fault', async () => {
    const { look, seen } = looks<string>(
      { done: false, state: 'BUILD/spawning' },
      { done: false, failed: true, state: 'ERROR', fault: 'No valid host was found.' },
    );
    const error = (await waitFor(what, look, instant).catch(
      (e: unknown) => e,
    )) as OpenStackWaitError;
    expect(error).toBeInstanceOf(OpenStackWaitError);
    expect(error).toMatchObject({
      reason: 'FAULT',
      lastState: 'ERROR',
      fault: 'No valid host was found.',
    });
    expect(error.message).toBe(
      'server srv-1 went to ERROR while waiting for ACTIVE: No valid host was found.',
    );
    expect(seen).toHaveLength(2);
  });

  it('says GONE when the resource disappears, with the state it had last', async () => {
    const { look } = looks<string>(
      { done: false, state: 'BUILD' },
      { done: false, failed: true, gone: true },
    );
    await expect(waitFor(what, look, instant)).rejects.toMatchObject({
      reason: 'GONE',
      lastState: 'BUILD',
      message: 'server srv-1 disappeared while waiting for ACTIVE (last seen BUILD)',
    });
  });

  it('says TIMEOUT with the last state once the deadline has passed', async () => {
    const { look } = looks<string>({ done: false, state: 'RESIZE/resize_migrating' });
    const error = (await waitFor(what, look, { timeoutMs: 30, intervalMs: 10 }).catch(
      (e: unknown) => e,
    )) as OpenStackWaitError;
    expect(error).toMatchObject({ reason: 'TIMEOUT', lastState: 'RESIZE/resize_migrating' });
    expect(error.waitedMs).toBeGreaterThanOrEqual(30);
    expect(error.message).toMatch(
      /^server srv-1 did not become ACTIVE within \d+ ms \(last seen RESIZE\/resize_migrating\)$/,
    );
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const { look } = looks<string>({ done: false, state: 'BUILD' });
    const waiting = waitFor(what, look, {
      sleep: () => {
        controller.abort(new Error('worker shutting down'));
        return Promise.resolve();
      },
      signal: controller.signal,
    });
    await expect(waiting).rejects.toThrow('worker shutting down');
  });
});
