import { WorkerEnvError } from './env';
import { ComputeProviderUnavailableError } from './compute';
import { createLogger } from './logger';
import { installShutdownHandlers } from './shutdown';
import { startWorker, type StartWorkerOptions, type WorkerRole } from './worker';

/**
 * What each entry point runs: start the roles, install the shutdown manager, and fail at boot
 * with a clear message (exit 1) when the configuration is wrong.
 */
export async function runWorkerProcess(roles: readonly WorkerRole[], options: Omit<StartWorkerOptions, 'roles'> = {}): Promise<void> {
  const bootLogger = options.logger ?? createLogger('info');
  process.on('unhandledRejection', (error) => {
    bootLogger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });
  let worker;
  try {
    worker = await startWorker({ ...options, roles });
  } catch (error) {
    if (error instanceof WorkerEnvError || error instanceof ComputeProviderUnavailableError) {
      process.stderr.write(`coffer-worker: refusing to start: ${error.message}\n`);
    } else {
      bootLogger.fatal({ err: error }, 'the worker could not start');
    }
    process.exit(1);
  }
  installShutdownHandlers(() => worker.stop(), bootLogger);
}
