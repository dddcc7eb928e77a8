import { installShutdownHandlers } from '@coffer/runtime/shutdown';
import { Redis } from 'ioredis';

import { ComputeProviderUnavailableError } from './compute';
import { loadWorkerEnv, WorkerEnvError } from './env';
import { createLogger, type Logger } from './logger';
import { startRolePresence } from './role-presence';
import { startWorker, type StartWorkerOptions, type WorkerRole } from './worker';

/**
 * What each entry point runs: parse the environment, start the roles, say in Redis that they
 * run (role-presence.ts: operators see a role that is down), install the shutdown manager. A
 * wrong configuration fails at boot with a clear message on stderr (exit 1).
 */
export async function runWorkerProcess(
  roles: readonly WorkerRole[],
  options: Omit<StartWorkerOptions, 'roles'> = {},
): Promise<void> {
  let logger: Logger;
  let restarts: number;
  try {
    const env = loadWorkerEnv(options.env);
    logger = options.logger ?? createLogger(env.LOG_LEVEL);
    restarts = env.COFFER_ROLE_RESTARTS;
  } catch (error) {
    return refuseToStart(error);
  }
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });
  try {
    const worker = await startWorker({ ...options, roles, logger });
    const { settings } = worker;
    const presence = startRolePresence({
      redis: options.redis
        ? options.redis.duplicate({ connectionName: 'coffer-worker-presence' })
        : new Redis(settings.redisUrl!, { connectionName: 'coffer-worker-presence' }),
      roles,
      queuePrefix: settings.queuePrefix,
      intervalMs: settings.heartbeatIntervalSeconds * 1000,
      expiryMs: settings.heartbeatExpirySeconds * 1000,
      restarts,
      logger: logger.child({ component: 'presence' }),
    });
    installShutdownHandlers(async () => {
      await worker.stop();
      await presence.stop();
    }, logger);
  } catch (error) {
    if (error instanceof WorkerEnvError || error instanceof ComputeProviderUnavailableError)
      return refuseToStart(error);
    logger.fatal({ err: error }, 'the worker could not start');
    logger.flush();
    process.exit(1);
  }
}

function refuseToStart(error: unknown): never {
  process.stderr.write(
    `coffer-worker: refusing to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
