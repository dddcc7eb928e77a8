import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Linux process checks by /proc, the way Trove's guest tells its server apart from others:
 * a pid is only "ours" while it is alive (not a zombie) and its command line names our
 * files, so a recycled pid is never mistaken for (or killed as) one of our processes.
 */

/** The command line of a live process, or null when it is gone or a zombie. */
export function readCmdline(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return null;
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw.length === 0) return null;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

/** Whether a process of this pid exists (a zombie too; ours to signal or not). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads a pid file; null when it is missing or does not hold a pid. */
export function readPidFile(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[1-9][0-9]*$/.test(text)) return null;
    return Number(text);
  } catch {
    return null;
  }
}

/**
 * Tells our processes by their command line (and, where that is not enough, by the pid: its
 * working directory, say, from `processCwd`).
 */
export type IsOurProcess = (args: string[], pid: number) => boolean;

/** True when `pid` is alive and its command line passes `isOurs`. */
export function isOurProcess(pid: number, isOurs: IsOurProcess): boolean {
  const args = readCmdline(pid);
  return args !== null && isOurs(args, pid);
}

/** A live process's working directory, or null when it is gone or not ours to read. */
export function processCwd(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/** Every live process whose command line passes `isOurs`. */
export function findProcesses(isOurs: IsOurProcess): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (isOurProcess(pid, isOurs)) pids.push(pid);
  }
  return pids;
}

/** Polls `condition` until it holds or the deadline passes; true when it held. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs = 50 }: { timeoutMs: number; intervalMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Asks our process to stop (SIGTERM), waits for it to go (looking every `intervalMs`, 50 by
 * default), and kills it (SIGKILL) once the bound passes. Says how it ended.
 */
export async function terminateProcess(
  pid: number,
  isOurs: IsOurProcess,
  { timeoutMs, intervalMs }: { timeoutMs: number; intervalMs?: number },
): Promise<'not-running' | 'stopped' | 'killed'> {
  if (!isOurProcess(pid, isOurs)) return 'not-running';
  sendSignal(pid, 'SIGTERM');
  if (await waitFor(() => !isOurProcess(pid, isOurs), { timeoutMs, intervalMs })) return 'stopped';
  if (isOurProcess(pid, isOurs)) sendSignal(pid, 'SIGKILL');
  await waitFor(() => !isOurProcess(pid, isOurs), { timeoutMs: 10_000 });
  return 'killed';
}
