import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';

import { expect } from 'vitest';

/**
 * Runs before each test file (vitest `setupFiles`): the file gets a BullMQ prefix of its own in
 * COFFER_QUEUE_PREFIX, which the web app's queue and an in-process worker both read, so no
 * test file adds jobs on BullMQ's default `bull` where a live worker of another file could
 * take them. Tests that build their own Queue use `process.env.COFFER_QUEUE_PREFIX` too.
 */
const file = basename(expect.getState().testPath ?? 'unknown')
  .replace(/\.test\.ts$/, '')
  .replace(/[^A-Za-z0-9_.-]/g, '-');
process.env.COFFER_QUEUE_PREFIX = `t-web-${file}-${randomBytes(3).toString('hex')}`;
