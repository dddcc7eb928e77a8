import { parseArgs } from 'node:util';

import { beginEarlyInstall } from './boot/early-install';
import { datastoreManagers } from './managers/registry';

/**
 * The agent bundle's entry (scripts/build.mjs bundles it into dist/chunks/agent-<hash>.cjs,
 * which dist/guest.mjs loads with its V8 code cache: see loader.ts). Only the early install and
 * the datastores' registrations are evaluated when the bundle loads; the agent itself
 * (run-guest.ts) and each datastore's manager are evaluated when first imported.
 */

function fail(message: string, code: number): never {
  process.stderr.write(`coffer-guest: ${message}\n`);
  process.exit(code);
}

/** `guest --config-dir <dir>`: the early install first, then the agent. */
export async function startGuest(): Promise<void> {
  let configDir: string | undefined;
  try {
    ({
      values: { 'config-dir': configDir },
    } = parseArgs({ options: { 'config-dir': { type: 'string' } }, strict: true }));
  } catch (error) {
    fail(`${(error as Error).message}\nusage: guest --config-dir <dir>`, 2);
  }
  if (!configDir) fail('missing --config-dir <dir>\nusage: guest --config-dir <dir>', 2);

  // Start the datastore's early work at once (when the agent config allows it: MariaDB
  // copies or installs its datadir and starts the server), then load the agent meanwhile.
  const earlyInstall = beginEarlyInstall(configDir);
  const { runGuest } = await import('./run-guest');
  await runGuest(configDir, earlyInstall);
}

/**
 * Evaluates every module a guest evaluates at its start (the agent, each datastore's manager
 * and what they load on first use), and nothing more: no file read, no connection. The build
 * runs it to make the code cache (what V8 compiled meanwhile is what the cache holds).
 */
export async function loadAgentModules(): Promise<void> {
  await import('./run-guest');
  for (const name of datastoreManagers.names()) await datastoreManagers.factoryFor(name);
  await import('mysql2/promise');
  await import('./managers/mariadb/backup');
}
