import { describe, expect, it } from 'vitest';

import { waitFor } from './wait';

describe('waitFor', () => {
  it('returns the first truthy value, trying again after a falsy value or an error', async () => {
    const answers: Array<() => number> = [
      () => 0,
      () => {
        throw new Error('not yet');
      },
      () => 7,
    ];
    const value = await waitFor(() => answers.shift()!(), {
      timeoutMs: 1_000,
      intervalMs: 1,
      what: 'seven',
    });
    expect(value).toBe(7);
    expect(answers).toEqual([]);
  });

  it('with `until`, returns the first value it accepts, falsy or not', async () => {
    let reads = 0;
    const value = await waitFor(() => ({ count: reads++ }), {
      until: (read) => read.count === 2,
      timeoutMs: 1_000,
      intervalMs: 1,
      what: 'the third read',
    });
    expect(value).toEqual({ count: 2 });
    expect(
      await waitFor(() => 0, { until: (read) => read === 0, timeoutMs: 10, what: 'zero' }),
    ).toBe(0);
  });

  it('times out naming what it waited for and the last value (as JSON) or error', async () => {
    await expect(
      waitFor(() => ({ state: 'down' }), {
        until: () => false,
        timeoutMs: 30,
        intervalMs: 5,
        what: 'the role to be up',
      }),
    ).rejects.toThrow(
      /^timed out after 30 ms waiting for the role to be up \(last: \{"state":"down"\}\)$/,
    );
    await expect(
      waitFor(
        () => {
          throw new Error('refused');
        },
        { timeoutMs: 30, intervalMs: 5, what: 'a connection' },
      ),
    ).rejects.toThrow('(last: Error: refused)');
  });

  it('waits about its timeout, reading again every interval', async () => {
    let reads = 0;
    const started = Date.now();
    await expect(
      waitFor(() => (reads++, null), { timeoutMs: 200, intervalMs: 20, what: 'nothing' }),
    ).rejects.toThrow('(last: null)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(reads).toBeGreaterThan(3);
    expect(reads).toBeLessThan(15);
  });
});
