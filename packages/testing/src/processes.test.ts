import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  isAlive,
  isGuest,
  isMariadbd,
  killProcessesMentioning,
  processesMentioning,
  readPid,
  rssMib,
} from './processes';
import { waitFor } from './wait';

const dir = mkdtempSync(join(tmpdir(), 'coffer-testing-processes-'));
afterAll(() => {
  killProcessesMentioning(dir);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A waiting child whose command line names `dir` in two arguments. It waits in the
 * shell's builtin `read` (on a pipe nobody writes to), so it never forks: a forked
 * child, until it execs, carries the same command line and would be found too.
 */
function sleeper() {
  const child = spawn('sh', ['-c', 'read line', 'sleeper', '--config-dir', join(dir, 'etc')], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, exited };
}

describe('the /proc finders', () => {
  it('find a live process by a path in its command line, or by several arguments, and not once it is gone', async () => {
    const { child, exited } = sleeper();
    const pid = child.pid!;
    await waitFor(() => processesMentioning(dir).length > 0, {
      timeoutMs: 5_000,
      what: 'the sleeper',
    });
    expect(processesMentioning(dir)).toEqual([
      { pid, args: ['sh', '-c', 'read line', 'sleeper', '--config-dir', join(dir, 'etc')] },
    ]);
    expect(
      processesMentioning(`--config-dir ${join(dir, 'etc')}`).map((found) => found.pid),
    ).toEqual([pid]);
    expect(processesMentioning(`${dir}-not-there`)).toEqual([]);
    expect(isAlive(pid)).toBe(true);
    expect(rssMib(pid)).toBeGreaterThan(0);

    expect(killProcessesMentioning(dir)).toEqual([pid]);
    await exited;
    expect(processesMentioning(dir)).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(rssMib(pid)).toBeNull();
  });

  it('never list the process that asks', () => {
    expect(processesMentioning(process.argv[1] ?? 'node').map((found) => found.pid)).not.toContain(
      process.pid,
    );
  });

  it('tell a guest and a database server by their command lines', () => {
    expect(isGuest({ pid: 1, args: ['node', 'guest.mjs', '--config-dir', '/x/etc'] })).toBe(true);
    expect(isGuest({ pid: 1, args: ['/usr/sbin/mariadbd', '--defaults-file=/x/my.cnf'] })).toBe(
      false,
    );
    expect(isMariadbd({ pid: 1, args: ['/usr/sbin/mariadbd', '--defaults-file=/x/my.cnf'] })).toBe(
      true,
    );
    expect(isMariadbd({ pid: 1, args: ['/usr/sbin/mysqld'] })).toBe(true);
    expect(isMariadbd({ pid: 1, args: ['mariadb-admin', 'ping'] })).toBe(false);
  });

  it('read a pid file, null when missing or not a pid', () => {
    const file = join(dir, 'x.pid');
    expect(readPid(file)).toBeNull();
    writeFileSync(file, '4242\n');
    expect(readPid(file)).toBe(4242);
    writeFileSync(file, 'nope');
    expect(readPid(file)).toBeNull();
  });
});
