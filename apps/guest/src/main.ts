import { parseArgs } from 'node:util';

import { beginEarlyInstall } from './boot/early-install';

/**
 * The guest agent's entry: `node guest.mjs --config-dir <dir>`. The compute provider starts
 * it beside the instance's database server and sends its stdout to the instance's log.
 */

function fail(message: string, code: number): never {
  process.stderr.write(`coffer-guest: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
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
  // installs its datadir), then load the agent: Node parses the bundle's heavy part meanwhile.
  const earlyInstall = beginEarlyInstall(configDir);
  const { runGuest } = await import('./run-guest');
  await runGuest(configDir, earlyInstall);
}

void main();
