import { describe, expect, it } from 'vitest';

import { isComputeError } from '../provider';
import { DEFAULT_GUEST_POOL, MAX_GUEST_POOL, parseGuestPoolSize } from './guest-pool';

// The pool itself, with the real guest agent and mariadbd: apps/worker/src/guest-pool.test.ts.
describe('COFFER_LOCAL_GUEST_POOL', () => {
  it('is a count of standby guests, off, or the default when unset', () => {
    expect(parseGuestPoolSize(undefined)).toBe(DEFAULT_GUEST_POOL);
    expect(parseGuestPoolSize(' ')).toBe(DEFAULT_GUEST_POOL);
    expect(parseGuestPoolSize('off')).toBe(0);
    expect(parseGuestPoolSize('OFF')).toBe(0);
    expect(parseGuestPoolSize('0')).toBe(0);
    expect(parseGuestPoolSize(' 50 ')).toBe(50);
    expect(parseGuestPoolSize(String(MAX_GUEST_POOL))).toBe(MAX_GUEST_POOL);
  });

  it('refuses anything else, saying what it takes', () => {
    for (const wrong of ['-1', '2.5', 'two', String(MAX_GUEST_POOL + 1), '1:8']) {
      let caught: unknown;
      try {
        parseGuestPoolSize(wrong);
      } catch (error) {
        caught = error;
      }
      expect(isComputeError(caught, 'UNAVAILABLE')).toBe(true);
      expect((caught as Error).message).toContain(`from 0 to ${MAX_GUEST_POOL}`);
    }
  });
});
