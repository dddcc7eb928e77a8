import { loadWorkerEnv } from '../src/env';
import { ChangePublisher } from '../src/events';
import { buildSettings, type WorkerTuning } from '../src/settings';
import { Watchdog } from '../src/watchdog/watchdog';
import { type WorkerTestContext } from './harness';

/**
 * A watchdog over a test's database, Redis names and provider whose sweeps the test runs by
 * hand, with a clock of its choosing (no timers of its own run until `start`).
 */
export function handRunWatchdog(ctx: WorkerTestContext, tuning: Partial<WorkerTuning>): Watchdog {
  return new Watchdog({
    prisma: ctx.prisma,
    redis: ctx.redis,
    provider: ctx.provider,
    publisher: new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger),
    settings: buildSettings(loadWorkerEnv(ctx.workerEnv()), ctx.names, tuning),
    logger: ctx.logger,
  });
}
