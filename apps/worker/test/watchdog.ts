import { madeBeforeAll } from '@coffer/testing/suite';
import { afterAll, beforeAll } from 'vitest';

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

/**
 * A test file's hand-run watchdog: `ctx` is set up before the file's tests and closed after
 * them, the watchdog stopped first. An `afterAll` the file registers before this runs after
 * the close (vitest runs them in reverse order).
 */
export function useHandRunWatchdog(
  ctx: WorkerTestContext,
  tuning: Partial<WorkerTuning>,
): Watchdog {
  return madeBeforeAll(
    { beforeAll, afterAll },
    async () => {
      await ctx.setUp();
      return handRunWatchdog(ctx, tuning);
    },
    async (watchdog) => {
      await watchdog.stop();
      await ctx.close();
    },
  );
}
