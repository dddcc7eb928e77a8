import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { afterAll, describe, expect, it } from 'vitest';

import { withStartLock } from './start-lock';

describe('withStartLock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-start-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one holder at a time, and leaves nothing behind', async () => {
    const lock = join(dir, 'serial');
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        withStartLock(
          lock,
          async () => {
            inside += 1;
            most = Math.max(most, inside);
            await delay(30);
            order.push(n);
            inside -= 1;
          },
          { timeoutMs: 10_000, pollMs: 5 },
        ),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([1, 2, 3, 4]);
    expect(readdirSync(dir).filter((name) => name.startsWith('serial'))).toEqual([]);
  });

  it('takes over a lock whose holder is gone', async () => {
    const lock = join(dir, 'stale');
    // A process that held it and ended (its pid is free now, or a zombie).
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolveExit) => child.once('exit', resolveExit));
    writeFileSync(lock, `${child.pid}\n`);
    expect(await withStartLock(lock, async () => 'ran', { timeoutMs: 5_000 })).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a live holder, and says so when it takes too long', async () => {
    const lock = join(dir, 'held');
    writeFileSync(lock, `${process.pid}\n`);
    const started = Date.now();
    await expect(
      withStartLock(lock, async () => 'ran', { timeoutMs: 300, pollMs: 20 }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/another worker/),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Released meanwhile: the waiter goes on.
    setTimeout(() => rmSync(lock, { force: true }), 100).unref();
    expect(await withStartLock(lock, async () => 'ran', { timeoutMs: 5_000 })).toBe('ran');
  });
});
