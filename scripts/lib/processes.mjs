// What the supervisor needs to know about processes, read from /proc (Linux), and how it
// signals a whole process group. Node built-ins only: this runs before `npm ci`.
import fs from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses):
 * [state, ppid, pgrp, session, …]. Null when the process is gone (or /proc cannot tell).
 */
function readStat(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The parent of a live process (zombies count as gone), or null. */
export function parentOf(pid) {
  const fields = readStat(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return null;
  return Number(fields[1]);
}

/** What /proc/<pid>/cmdline says the process is (its arguments joined by spaces), or ''. */
export function commandLineOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

const hasProc = fs.existsSync('/proc/self/stat');

/**
 * Whether any process of the group `pgid` is still alive. Zombies do not count: their parent
 * (perhaps an init that does not reap) is all that is left of them, and they hold nothing.
 * `except`: a pid to leave out (a group leader asking about the rest of its group).
 */
export function isGroupAlive(pgid, { except } = {}) {
  if (hasProc) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry) || Number(entry) === except) continue;
      const fields = readStat(entry);
      if (fields && Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X')
        return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Sends a signal to every process of a group; a group that is gone already is fine. */
export function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

/** Resolves true once `condition()` holds, or false when `timeoutMs` passed first. */
export async function waitUntil(condition, timeoutMs, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, deadline - Date.now())),
    );
  }
}
