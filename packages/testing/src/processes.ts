import { readdirSync, readFileSync } from 'node:fs';

/**
 * What runs on this machine, read from /proc: the tests' and benchmarks' way to find the
 * guests and database servers of an instance (their command lines name its directory), to
 * prove nothing outlives a test, and to kill what a failed run left. Linux only.
 */

export interface ProcessInfo {
  pid: number;
  /** The command line, one argument an element. */
  args: string[];
}

/** `/proc/<pid>/stat`'s state letter, or null when the process is gone. */
function stateOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself contain ") ".
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** True while `pid` is a live process (not gone, not a zombie). */
export function isAlive(pid: number): boolean {
  const state = stateOf(pid);
  return state !== null && state !== 'Z' && state !== 'X';
}

/**
 * Live processes (zombies and this process aside) whose command line, its arguments joined by
 * spaces, contains `needle`: a path, or several arguments (`--config-dir /x/etc`).
 */
export function processesMentioning(needle: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !isAlive(pid)) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
      if (args.join(' ').includes(needle)) found.push({ pid, args });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Kills (SIGKILL) every live process mentioning `needle`; returns their pids. */
export function killProcessesMentioning(needle: string): number[] {
  const pids = processesMentioning(needle).map(({ pid }) => pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  return pids;
}

/** A database server (`mariadbd`, or `mysqld` on older packages). */
export function isMariadbd(info: ProcessInfo): boolean {
  return /mariadbd$|mysqld$/.test(info.args[0] ?? '');
}

/** A guest agent (the local provider starts it with `--config-dir`). */
export function isGuest(info: ProcessInfo): boolean {
  return info.args.includes('--config-dir');
}

/** The pid in a pid file, or null when it is missing or holds no pid. */
export function readPid(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Resident set size of a process in MiB, or null when it is gone. */
export function rssMib(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}
