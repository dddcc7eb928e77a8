import { type Logger } from './logger';

/** One thing to close on the way out, named for the log. */
export interface ShutdownStep {
  name: string;
  close: () => Promise<void> | void;
}

/**
 * Closes `steps` one after the other, in the order given (what takes work first, connections
 * last). A step that fails is logged and the next still runs; the returned promise rejects
 * afterwards if any failed.
 */
export async function closeInOrder(steps: readonly ShutdownStep[], logger: Logger): Promise<void> {
  const failed: string[] = [];
  for (const step of steps) {
    try {
      await step.close();
    } catch (error) {
      failed.push(step.name);
      logger.error({ err: error, step: step.name }, 'shutdown: a step failed');
    }
  }
  if (failed.length > 0) throw new Error(`shutdown: ${failed.join(', ')} did not close cleanly`);
}

export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
];

export interface ShutdownOptions {
  /** Stopping that takes longer exits 1 anyway (a hung close must not keep a dead process). */
  timeoutMs?: number;
  signals?: readonly NodeJS.Signals[];
  /** Tests: instead of process.exit. */
  exit?: (code: number) => void;
}

/**
 * The shutdown manager: on SIGTERM, SIGINT, SIGHUP or SIGQUIT (what a service manager or the
 * supervisor of `npm start` may send), stop once and exit 0; exit 1 when stopping fails or
 * outlasts `timeoutMs`. A second signal exits at once. `stop` is a function, or steps closed
 * in order ({@link closeInOrder}).
 */
export function installShutdownHandlers(
  stop: (() => Promise<void>) | readonly ShutdownStep[],
  logger: Logger,
  {
    timeoutMs = 60_000,
    signals = SHUTDOWN_SIGNALS,
    exit = (code) => process.exit(code),
  }: ShutdownOptions = {},
): void {
  const run = typeof stop === 'function' ? stop : () => closeInOrder(stop, logger);
  let isStopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (isStopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    isStopping = true;
    logger.info({ signal }, 'signal received: shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long: exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    run().then(
      () => {
        clearTimeout(timer);
        logger.flush();
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, 'unclean shutdown');
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
}
