import { installShutdownHandlers } from '@coffer/runtime/shutdown';
import { z } from 'zod';

import { GuestAgent } from './agent';
import { GuestConfigError, loadGuestConfig } from './config';
import { parseGuestEnv } from './env';
import { createLogger } from './logger';
import { UnknownDatastoreError } from './managers/registry';

/**
 * The guest agent proper, loaded by main.ts after the early install has started (this module,
 * what it imports and the datastore's manager are most of the bundle: loading them overlaps
 * with the datastore's early work, e.g. MariaDB's mariadb-install-db).
 */

// zod without its compiled fast paths: a guest parses each schema a few times (its config,
// RPC requests), and compiling one (`new Function`) costs more than the parses it would speed up.
z.config({ jitless: true });

function fail(message: string, code: number): never {
  process.stderr.write(`coffer-guest: ${message}\n`);
  process.exit(code);
}

export async function runGuest(
  configDir: string,
  earlyInstall: Promise<void> | null,
): Promise<void> {
  let env;
  let config;
  try {
    env = parseGuestEnv();
    config = loadGuestConfig(configDir);
  } catch (error) {
    const message = error instanceof GuestConfigError ? error.message : (error as Error).message;
    fail(`refusing to start: ${message}`, 1);
  }

  const logger = createLogger(config.agent.logLevel, { instanceId: config.info.instanceId });
  let agent: GuestAgent;
  try {
    agent = await GuestAgent.create(config, env, logger, earlyInstall);
  } catch (error) {
    // No manager for the datastore, or a config its manager refuses.
    if (!(error instanceof UnknownDatastoreError || error instanceof GuestConfigError)) throw error;
    fail(`refusing to start: ${error.message}`, 1);
  }

  // The shutdown of every Node process (@coffer/runtime): stop once, exit 0 (1 when it fails
  // or outlasts the bound). The guest's stop can take the RPC drain (20 s), the server's
  // clean stop (up to a minute before SIGKILL), the last heartbeat and Redis (5 s each).
  installShutdownHandlers(() => agent.shutdown(), logger, {
    signals: ['SIGTERM', 'SIGINT'],
    timeoutMs: 120_000,
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });

  await agent.start();
}
