import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';

import { expect } from 'vitest';

/**
 * Runs before each test file (vitest `setupFiles`): the file gets a BullMQ prefix of its own in
 * COFFER_QUEUE_PREFIX, so a worker or queue the file starts without naming one (the worker's
 * env and the web app both read it) never shares BullMQ's default `bull` with a live worker
 * of another file running at the same time. A file that names its own prefix still may.
 */
process.env.COFFER_QUEUE_PREFIX = testQueuePrefix(expect.getState().testPath ?? 'unknown');

/** `t-<file name>-<random>`: which file a leftover key belongs to, and never two files alike. */
function testQueuePrefix(testPath: string): string {
  const file = basename(testPath)
    .replace(/\.test\.ts$/, '')
    .replace(/[^A-Za-z0-9_.-]/g, '-');
  return `t-${file}-${randomBytes(3).toString('hex')}`;
}
