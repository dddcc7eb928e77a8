import { describe, expect, it } from 'vitest';

import { madeBeforeAll } from './suite';

describe('madeBeforeAll', () => {
  it('reads the value made in beforeAll, binds its methods, and disposes of it in afterAll', async () => {
    const hooks: (() => Promise<void>)[] = [];
    const disposed: number[] = [];
    class Counter {
      #count = 0;
      value = 41;
      next(): number {
        this.#count += 1;
        return this.value + this.#count;
      }
    }
    const counter = madeBeforeAll(
      { beforeAll: (fn) => hooks.push(fn), afterAll: (fn) => hooks.push(fn) },
      () => Promise.resolve(new Counter()),
      (made) => {
        disposed.push(made.value);
        return Promise.resolve();
      },
    );
    expect(() => counter.value).toThrow('used before beforeAll made it');

    const [before, after] = hooks;
    await before!();
    expect(counter.value).toBe(41);
    const { next } = counter;
    expect(next()).toBe(42);
    await after!();
    expect(disposed).toEqual([41]);
  });
});
