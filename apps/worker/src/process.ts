import { ComputeProviderUnavailableError } from './compute';
import { loadWorkerEnv, WorkerEnvError } from './env';
import { createLogger, type Logger } from './logger';
import { installShutdownHandlers } from './shutdown';
import { startWorker, type StartWorkerOptions, type WorkerRole } from './worker';

/**
 * What each entry point runs: parse the environment, start the roles, install the shutdown
 * manager. A wrong configuration fails at boot with a clear message on stderr (exit 1).
 */
export async function runWorkerProcess(
  roles: readonly WorkerRole[],
  options: Omit<StartWorkerOptions, 'roles'> = {},
): Promise<void> {
  let logger: Logger;
  try {
    logger = options.logger ?? createLogger(loadWorkerEnv(options.env).LOG_LEVEL);
  } catch (error) {
    return refuseToStart(error);
  }
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });
  try {
    const worker = await startWorker({ ...options, roles, logger });
    installShutdownHandlers(() => worker.stop(), logger);
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
