import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';

import { type GuestStandbyAssign, type GuestStandbyReply } from '@coffer/contracts';

import { beginEarlyInstall } from './boot/early-install';
import { dropLaunchOnlyEnv } from './boot/env';
import { datastoreManagers } from './managers/registry';

/**
 * The agent bundle's entry (scripts/build.mjs bundles it into dist/chunks/agent-<hash>.cjs,
 * which dist/guest.mjs loads with its V8 code cache: see loader.ts). Only the early install and
 * the datastores' registrations are evaluated when the bundle loads; the agent itself
 * (run-guest.ts) and each datastore's manager are evaluated when first imported.
 */

// The standby's flag is GUEST_STANDBY_FLAG of the contracts, which this module does not load
// before the early install has begun (zod and the schemas are most of its cost).
const USAGE = 'usage: guest --config-dir <dir> | guest --standby <pool dir>';

function fail(message: string, code: number): never {
  process.stderr.write(`coffer-guest: ${message}\n`);
  process.exit(code);
}

/**
 * `guest --config-dir <dir>`: the early install first, then the agent. `guest --standby <pool
 * dir>`: a standby of a local provider's warm pool (startStandby).
 */
export async function startGuest(): Promise<void> {
  dropLaunchOnlyEnv();
  let values: { 'config-dir'?: string; standby?: string };
  try {
    ({ values } = parseArgs({
      options: { 'config-dir': { type: 'string' }, standby: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  const { 'config-dir': configDir, standby } = values;
  if (configDir !== undefined && standby !== undefined)
    fail(`--config-dir and --standby do not go together\n${USAGE}`, 2);
  if (standby !== undefined) return startStandby();
  if (!configDir) fail(`missing --config-dir <dir>\n${USAGE}`, 2);
  await runFor(configDir);
}

async function runFor(configDir: string): Promise<void> {
  // Start the datastore's early work at once (when the agent config allows it: MariaDB
  // copies or installs its datadir and starts the server), then load the agent meanwhile.
  const earlyInstall = beginEarlyInstall(configDir);
  const { runGuest } = await import('./run-guest');
  await runGuest(configDir, earlyInstall);
}

/**
 * A standby (the protocol: @coffer/contracts guest-standby.ts): every module evaluated, then
 * `ready`, then waits for `assign` on the IPC channel. Assigned, it takes the instance's root
 * as its working directory and the priority it is given, says so, closes the channel and runs
 * as `--config-dir` would. Its channel closed first (its pool's process gone or stopping it):
 * it exits, having started nothing.
 */
async function startStandby(): Promise<void> {
  if (!process.send) fail('--standby needs an IPC channel to its pool', 2);
  const send = (message: GuestStandbyReply | { type: 'ready' }) =>
    new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  let assigned = false;
  process.once('disconnect', () => {
    if (!assigned) process.exit(0);
  });
  await loadAgentModules();
  const { guestStandbyAssignSchema } = await import('@coffer/contracts');
  // What loading left behind, collected before the wait (GUEST_NODE_FLAGS expose gc).
  (globalThis as { gc?: () => void }).gc?.();
  const onMessage = (message: unknown) => {
    const parsed = guestStandbyAssignSchema.safeParse(message);
    if (!parsed.success || assigned) return;
    assigned = true;
    process.off('message', onMessage);
    void takeInstance(parsed.data, send);
  };
  process.on('message', onMessage);
  await send({ type: 'ready' });
}

async function takeInstance(
  assign: GuestStandbyAssign,
  send: (message: GuestStandbyReply) => Promise<void>,
): Promise<void> {
  try {
    process.chdir(assign.root);
    // Linux keeps a nice value per thread: every thread of this process (V8's, libuv's), so
    // none stays at the standby's; threads made later take the main thread's.
    for (const task of readdirSync('/proc/self/task')) setPriority(Number(task), assign.priority);
  } catch (error) {
    // Not this instance's guest after all: the provider starts one the usual way.
    await send({ type: 'refused', reason: (error as Error).message });
    process.exit(1);
  }
  await send({ type: 'assigned' });
  process.disconnect();
  await runFor(assign.configDir);
}

/**
 * Evaluates every module a guest evaluates at its start (the agent, each datastore's manager
 * and what they load on first use), and nothing more: no file read, no connection. The build
 * runs it to make the code cache (what V8 compiled meanwhile is what the cache holds), and a
 * standby before it says it is ready.
 */
export async function loadAgentModules(): Promise<void> {
  await import('./run-guest');
  for (const name of datastoreManagers.names()) await datastoreManagers.factoryFor(name);
  await import('mysql2/promise');
  await import('./managers/mariadb/backup');
}
