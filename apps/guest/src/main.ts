import { parseArgs } from 'node:util';

import { GuestAgent } from './agent';
import { GuestConfigError, loadGuestConfig } from './config';
import { parseGuestEnv } from './env';
import { createLogger } from './logger';

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
  const agent = new GuestAgent(config, env, logger);

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    agent.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
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

void main();
