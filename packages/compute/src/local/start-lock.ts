import { randomBytes } from 'node:crypto';
import { linkSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

import { readCmdline, readPidFile } from '@coffer/host';

import { ComputeError } from '../provider';

/**
 * A lock between processes (several workers on one data dir) for a short piece of work: the
 * local provider holds one while it checks that an instance has no guest and starts one, so a
 * watchdog's restart and a retried create in another worker never both start a guest (two
 * guests of one instance were seen in the chaos test).
 *
 * The lock is a file holding its holder's pid, put in place whole by link(2), which fails with
 * EEXIST while another holds it. A lock whose holder is gone (a worker that died holding it) is
 * taken over. Waiting longer than `timeoutMs` for a live holder is `UNAVAILABLE`.
 */
export async function withStartLock<T>(
  path: string,
  task: () => Promise<T>,
  { timeoutMs, pollMs = 20 }: { timeoutMs: number; pollMs?: number },
): Promise<T> {
  const mine = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        linkSync(mine, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readPidFile(path);
      if (holder === null || readCmdline(holder) === null) {
        // Its holder is gone: the lock is stale.
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new ComputeError(
          'UNAVAILABLE',
          `another worker (pid ${holder}) has been starting this guest for ${timeoutMs} ms`,
        );
      }
      await delay(pollMs);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await task();
  } finally {
    rmSync(path, { force: true });
  }
}
