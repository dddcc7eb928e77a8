// The supervisor `npm start` runs Coffer's processes under (the console and each worker role):
// a child that dies is started again after a backoff while the others keep running, and a
// signal stops them all. Node built-ins only: this runs before `npm ci`.
//
// - Each child runs under child-guard.mjs as the leader of a process group of its own, so a
//   signal reaches everything it started (npm → sh → next-server), and the guard takes the
//   group down if this supervisor dies without stopping it (even by SIGKILL).
// - A child that exits is restarted after 1 s, 2 s, 4 s … up to 30 s; a child that had run for
//   a minute starts again from 1 s. What its group left behind is stopped first.
// - SIGTERM, SIGINT, SIGHUP or SIGQUIT: every group gets SIGTERM, whatever is left after 7 s
//   gets SIGKILL, and the supervisor exits, in under 10 s. A second signal kills at once.
// - Started by npm (`npm start`), it also stops when npm is gone: npm runs it through `sh -c`,
//   which dies of the SIGTERM npm passes on without passing it further, and npm passes on no
//   other signal; either way the supervisor sees its launcher go and stops.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { commandLineOf, isGroupAlive, parentOf, signalGroup, waitUntil } from './processes.mjs';
import { log as defaultLog } from './system.mjs';

const GUARD = fileURLToPath(new URL('./child-guard.mjs', import.meta.url));

export const DEFAULT_BACKOFF = { initialMs: 1_000, maxMs: 30_000, stableMs: 60_000 };
/** How long children get to stop after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 7_000;
/** The supervisor is gone this long after a stop signal, whatever happens. */
export const STOP_DEADLINE_MS = 9_500;
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];

/** The wait before the n-th start in a row that follows a crash (n ≥ 1). */
export function restartDelayMs(consecutiveCrashes, { initialMs, maxMs } = DEFAULT_BACKOFF) {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, consecutiveCrashes - 1));
}

function describeExit(code, signal) {
  if (signal) return `killed by ${signal}`;
  const signalName =
    code > 128
      ? Object.keys(os.constants.signals).find((name) => os.constants.signals[name] === code - 128)
      : null;
  return signalName ? `killed by ${signalName}` : `exit code ${code}`;
}

/**
 * Supervises children: `{ name, command, args, cwd, env }`, where `env` may be a function of
 * `{ restarts }` (how many times this child was started again). `onEvent` hears
 * `{ type: 'started' | 'exited', name, pid, restarts, … }` (tests).
 */
export function createSupervisor({
  children,
  backoff = DEFAULT_BACKOFF,
  stopGraceMs = STOP_GRACE_MS,
  log = defaultLog,
  onEvent = () => {},
}) {
  const entries = children.map((spec) => ({
    spec,
    child: null,
    pgid: null,
    restarts: 0,
    consecutiveCrashes: 0,
    startedAt: 0,
    timer: null,
    cleanup: Promise.resolve(),
  }));
  let isStopping = false;
  let stopping = null;

  /** Stops what is left of a group whose leader exited (SIGTERM, SIGKILL after the grace). */
  const reapGroup = async (pgid) => {
    if (!isGroupAlive(pgid)) return;
    signalGroup(pgid, 'SIGTERM');
    if (!(await waitUntil(() => !isGroupAlive(pgid), stopGraceMs))) {
      signalGroup(pgid, 'SIGKILL');
      await waitUntil(() => !isGroupAlive(pgid), 2_000);
    }
  };

  const spawnEntry = (entry) => {
    const { spec } = entry;
    const extraEnv =
      typeof spec.env === 'function' ? spec.env({ restarts: entry.restarts }) : spec.env;
    const child = spawn(process.execPath, [GUARD, spec.command, ...(spec.args ?? [])], {
      cwd: spec.cwd,
      env: { ...process.env, ...extraEnv },
      // stdin: the pipe the guard watches to know this supervisor is alive.
      stdio: ['pipe', 'inherit', 'inherit'],
      detached: true,
    });
    child.stdin.on('error', () => {});
    entry.child = child;
    entry.pgid = child.pid;
    entry.startedAt = Date.now();
    child.on('exit', (code, signal) => onExit(entry, child, code, signal));
    onEvent({ type: 'started', name: spec.name, pid: child.pid, restarts: entry.restarts });
  };

  const onExit = (entry, child, code, signal) => {
    if (entry.child !== child) return;
    entry.child = null;
    const ranMs = Date.now() - entry.startedAt;
    onEvent({ type: 'exited', name: entry.spec.name, pid: child.pid, code, signal, ranMs });
    // Once the group is gone its pgid is forgotten: the number may soon lead someone else's group.
    entry.cleanup = reapGroup(child.pid).then(() => {
      if (entry.pgid === child.pid) entry.pgid = null;
    });
    if (isStopping) return;
    entry.consecutiveCrashes = ranMs >= backoff.stableMs ? 1 : entry.consecutiveCrashes + 1;
    const delayMs = restartDelayMs(entry.consecutiveCrashes, backoff);
    log.error(
      `${entry.spec.name} exited (${describeExit(code, signal)}); starting it again in ${(delayMs / 1000).toFixed(1)}s`,
    );
    onEvent({
      type: 'restarting',
      name: entry.spec.name,
      delayMs,
      consecutiveCrashes: entry.consecutiveCrashes,
    });
    entry.timer = setTimeout(async () => {
      entry.timer = null;
      await entry.cleanup;
      if (isStopping) return;
      entry.restarts += 1;
      spawnEntry(entry);
    }, delayMs);
  };

  return {
    start() {
      for (const entry of entries) spawnEntry(entry);
    },

    /** What runs now: name, pid of the guard (its group), restarts so far. */
    status() {
      return entries.map((entry) => ({
        name: entry.spec.name,
        pid: entry.child?.pid ?? null,
        restarts: entry.restarts,
      }));
    },

    /** SIGTERM to every group, SIGKILL to what is left after the grace; resolves once all are gone. */
    stop() {
      stopping ??= (async () => {
        isStopping = true;
        for (const entry of entries) clearTimeout(entry.timer);
        const groups = entries.map((entry) => entry.pgid).filter((pgid) => pgid !== null);
        const isAllGone = () => groups.every((pgid) => !isGroupAlive(pgid));
        for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
        if (!(await waitUntil(isAllGone, stopGraceMs))) {
          const left = entries.filter((entry) => entry.pgid !== null && isGroupAlive(entry.pgid));
          log.warn(
            `still running after ${stopGraceMs / 1000}s, killed: ${left.map((entry) => entry.spec.name).join(', ')}`,
          );
          for (const entry of left) signalGroup(entry.pgid, 'SIGKILL');
          await waitUntil(isAllGone, 1_500);
        }
        // Let the guards' exits be collected (no zombie of ours left behind).
        await waitUntil(() => entries.every((entry) => entry.child === null), 500);
      })();
      return stopping;
    },

    /** SIGKILL to every group now (a second signal, or the deadline). */
    kill() {
      isStopping = true;
      for (const entry of entries) {
        clearTimeout(entry.timer);
        if (entry.pgid !== null) signalGroup(entry.pgid, 'SIGKILL');
      }
    },
  };
}

/**
 * How this process was started, when npm started it: the chain of processes from this one up
 * to npm (npm runs scripts through `sh -c`), each with the parent it had, and npm's pid; null
 * when npm did not start it or /proc cannot tell. Only this chain is watched, not npm's own
 * parent: a Coffer left running on purpose (nohup, &) must not stop when its shell exits.
 */
export function findNpmLauncher() {
  if (!process.env.npm_lifecycle_event) return null;
  const links = [];
  let pid = process.pid;
  for (let depth = 0; depth < 3; depth += 1) {
    const parent = parentOf(pid);
    if (parent === null || parent <= 1) return null;
    links.push({ pid, parent });
    if (/(^|[/ ])npm(-cli\.js)?( |$)/.test(commandLineOf(parent))) return { npm: parent, links };
    pid = parent;
  }
  return null;
}

/** Whether npm and every process between it and this one are still there, with the parents they had. */
export function isLauncherAlive(launcher) {
  return (
    parentOf(launcher.npm) !== null &&
    launcher.links.every(({ pid, parent }) => parentOf(pid) === parent)
  );
}

/** Calls `onGone` once the launcher (findNpmLauncher) is gone; returns how to stop watching. */
export function watchLauncher(launcher, onGone) {
  if (!launcher) return () => {};
  const timer = setInterval(() => {
    if (!isLauncherAlive(launcher)) {
      clearInterval(timer);
      onGone();
    }
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs a one-shot step (a build) under the guard, in a process group of its own: if this
 * process dies meanwhile (a signal, npm gone), the guard takes the step's whole group down, so
 * no half-done build is left running. Resolves with its exit code.
 */
export function runGuarded(command, args, { cwd, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GUARD, command, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'inherit', 'inherit'],
      detached: true,
    });
    child.stdin.on('error', () => {});
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * Runs children under a supervisor until a stop signal (or, started by npm, until npm is gone:
 * `launcher`, found at start by default), then stops them all and exits: 0 when they stopped in
 * time, 1 when they had to be killed at the deadline. Returns the supervisor and
 * `shutdown(reason)` (for a caller that gives up).
 */
export function runSupervised({
  children,
  log = defaultLog,
  backoff,
  stopGraceMs,
  onEvent,
  launcher = findNpmLauncher(),
}) {
  const supervisor = createSupervisor({ children, log, backoff, stopGraceMs, onEvent });
  let isShuttingDown = false;
  const shutdown = (reason, exitCode = 0) => {
    if (isShuttingDown) return;
    isShuttingDown = true;
    log.info(`${reason}: stopping Coffer`);
    setTimeout(() => {
      log.error('did not stop in time: killing what is left');
      supervisor.kill();
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    const since = Date.now();
    void supervisor.stop().then(() => {
      log.ok(`stopped (${((Date.now() - since) / 1000).toFixed(1)}s)`);
      process.exit(exitCode);
    });
  };
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (!isShuttingDown) return shutdown(signal);
      log.warn(`${signal} again: killing now`);
      supervisor.kill();
      process.exit(1);
    });
  }
  watchLauncher(launcher, () => shutdown('npm is gone'));
  supervisor.start();
  return { supervisor, shutdown };
}
