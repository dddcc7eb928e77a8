// `node child-guard.mjs <command> [args…]`: how the supervisor runs each child. The guard is
// the leader of the child's process group (the supervisor spawns it detached) and runs the
// command inside that group. Its stdin is a pipe from the supervisor that nobody writes to: it
// closes only when the supervisor is gone, however it died (even by SIGKILL). Then the guard
// takes the whole group down (SIGTERM, SIGKILL after a grace), so nothing is left orphaned.
// Signals the supervisor sends reach every process of the group; the guard itself only waits
// for its command and exits as it did. Node built-ins only: this runs before `npm ci`.
import { spawn } from 'node:child_process';
import os from 'node:os';

import { isGroupAlive, waitUntil } from './processes.mjs';

const ORPHAN_GRACE_MS = 7_000;
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node child-guard.mjs <command> [args…]');
  process.exit(2);
}

// The group got the signal too: the command decides what it means; the guard follows it out.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']) process.on(signal, () => {});

let exitCode = null;
let isOrphaned = false;
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (error) => {
  console.error(`could not run ${command}: ${error.message}`);
  exitCode = 127;
  if (!isOrphaned) process.exit(exitCode);
});
child.on('exit', (code, signal) => {
  exitCode = code ?? 128 + (os.constants.signals[signal] ?? 0);
  if (!isOrphaned) process.exit(exitCode);
});

const onSupervisorGone = async () => {
  if (isOrphaned) return;
  isOrphaned = true;
  const pgid = process.pid;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // only this guard is left
  }
  // Everyone but this guard gone, or the grace over: then the whole group, guard included.
  const isOthersAlive = () => exitCode === null || isGroupAlive(pgid, { except: pgid });
  await waitUntil(() => !isOthersAlive(), ORPHAN_GRACE_MS, 100);
  process.kill(-pgid, 'SIGKILL');
};
process.stdin.on('end', onSupervisorGone);
process.stdin.on('error', onSupervisorGone);
process.stdin.resume();
