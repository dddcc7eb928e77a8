import { type Logger } from './logger';

/**
 * The shutdown manager: on SIGTERM, SIGINT, SIGHUP or SIGQUIT (what a service manager or the
 * supervisor of `npm start` may send), stop once (close workers, the stream reader,
 * Redis and Prisma) and exit 0; exit 1 when stopping fails or outlasts `timeoutMs`. A second
 * signal exits at once.
 */
export function installShutdownHandlers(
  stop: () => Promise<void>,
  logger: Logger,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): void {
  let isStopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (isStopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    isStopping = true;
    logger.info({ signal }, 'signal received: shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const)
    process.on(signal, onSignal);
}
