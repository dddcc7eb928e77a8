import { type ComputeProvider } from '@coffer/compute';
import { createPrismaClient, type PrismaClient } from '@coffer/db';
import { Redis } from 'ioredis';

import { createComputeProvider } from './compute';
import { Conductor } from './conductor/conductor';
import { loadWorkerEnv, WorkerEnvError, type WorkerEnvOverrides } from './env';
import { ChangeFeed, ChangePublisher } from './events';
import { GuestRedisAccess, reconcileGuestRedisUsers } from './guest-redis-access';
import { createLogger, redactUrl, type Logger } from './logger';
import {
  buildSettings,
  type WorkerNames,
  type WorkerSettings,
  type WorkerTuning,
} from './settings';
import { Taskmanager } from './taskmanager/taskmanager';
import { Watchdog } from './watchdog/watchdog';

export const WORKER_ROLES = ['taskmanager', 'conductor', 'watchdog'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export interface StartWorkerOptions {
  /** The roles this process runs. Default: all three. */
  roles?: readonly WorkerRole[];
  /** Overrides of the environment, by variable name (e.g. `{ DATABASE_URL: db.url }`); parsed like the environment. */
  env?: WorkerEnvOverrides;
  /** A Prisma client to use instead of one made from DATABASE_URL (the caller keeps it open). */
  prisma?: PrismaClient;
  /** A Redis connection to use instead of one made from REDIS_URL (the caller keeps it open; the worker duplicates it for blocking reads). */
  redis?: Redis;
  /** A compute provider instead of the one COFFER_COMPUTE_PROVIDER names. */
  provider?: ComputeProvider;
  logger?: Logger;
  /** Names of the Redis structures (BullMQ prefix, stream, channel, key prefix): tests that share a Redis set their own. */
  names?: Partial<WorkerNames>;
  /** Timings (see settings.ts); the defaults suit production. */
  tuning?: Partial<WorkerTuning>;
}

export interface RunningWorker {
  readonly settings: WorkerSettings;
  readonly provider: ComputeProvider | null;
  /** Stops taking work, lets running jobs reach a step boundary, closes what the worker opened. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts the worker's roles in this process: the taskmanager (BullMQ worker on `taskmanager`),
 * the conductor (the guests' stream) and the watchdog (heartbeat expiry, reconciliation).
 */
export async function startWorker(options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const roles = new Set<WorkerRole>(options.roles ?? WORKER_ROLES);
  const env = loadWorkerEnv(options.env);
  const settings = buildSettings(env, options.names, options.tuning);
  const logger = options.logger ?? createLogger(settings.logLevel);

  if (!options.prisma && !settings.databaseUrl)
    throw new WorkerEnvError(
      'DATABASE_URL is not set: point it at the control-plane PostgreSQL database',
    );
  if (!options.redis && !settings.redisUrl)
    throw new WorkerEnvError(
      'REDIS_URL is not set: point it at the Redis the web app and the guests use',
    );
  if (roles.has('taskmanager') && !settings.guestRedisUrl) {
    throw new WorkerEnvError(
      'COFFER_GUEST_REDIS_URL (or REDIS_URL) is not set: guests must be told where their Redis is',
    );
  }
  const needsProvider = roles.has('taskmanager') || roles.has('watchdog');
  if (needsProvider && !settings.backupStore) {
    throw new WorkerEnvError(
      'COFFER_BACKUP_DIR (or COFFER_DATA_DIR) is not set: backups have nowhere to go (or set COFFER_BACKUP_STORE=swift)',
    );
  }
  const provider =
    options.provider ??
    (needsProvider
      ? createComputeProvider(settings, logger.child({ component: 'compute' }))
      : null);

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
    }
  };

  // A provider made here is closed here, last (the local one stops its standby guests).
  if (provider && !options.provider && provider.close) closers.push(() => provider.close!());

  try {
    const prisma =
      options.prisma ??
      createPrismaClient({
        url: settings.databaseUrl!,
        // A process of one role names it (coffer-taskmanager, …): the database's timeline
        // triggers record the changes it writes as that role's (migration instance_timeline).
        applicationName: roles.size === 1 ? `coffer-${[...roles][0]}` : 'coffer-worker',
      });
    if (!options.prisma) closers.push(() => prisma.$disconnect());

    const redis =
      options.redis ??
      new Redis(settings.redisUrl!, {
        maxRetriesPerRequest: null,
        connectionName: 'coffer-worker',
      });
    if (!options.redis)
      closers.push(async () => void (await redis.quit().catch(() => redis.disconnect())));
    redis.on('error', (error) =>
      logger.warn({ err: error, redis: redactUrl(settings.redisUrl) }, 'redis connection error'),
    );
    const duplicate = (name: string) => {
      const connection = redis.duplicate({
        maxRetriesPerRequest: null,
        connectionName: `coffer-worker-${name}`,
      });
      connection.on('error', (error) =>
        logger.debug({ err: error, connection: name }, 'redis connection error'),
      );
      return connection;
    };

    const publisher = new ChangePublisher(redis, settings.eventsChannel, logger);

    // Guests' own Redis users: decided once, then those Redis lost (a restart) set up again, now
    // and whenever the connection comes back.
    let guestAccess: GuestRedisAccess | null = null;
    if (needsProvider) {
      const access = await GuestRedisAccess.start(redis, settings, logger);
      guestAccess = access;
      if (access.isEnabled) {
        let isClosed = false;
        const restoreUsers = () =>
          reconcileGuestRedisUsers({ prisma, access, logger }).catch((error: unknown) => {
            if (!isClosed)
              logger.warn({ err: error }, "could not set up the guests' Redis users again");
          });
        await restoreUsers();
        redis.on('ready', restoreUsers);
        closers.push(async () => {
          isClosed = true;
          redis.off('ready', restoreUsers);
        });
      }
    }

    if (roles.has('conductor')) {
      const blockingConnection = duplicate('conductor');
      const conductor = new Conductor({
        prisma,
        redis,
        blockingConnection,
        publisher,
        settings,
        logger: logger.child({ role: 'conductor' }),
      });
      closers.push(async () => {
        await conductor.stop();
        blockingConnection.disconnect();
      });
      await conductor.start();
    }

    if (roles.has('taskmanager')) {
      const subscriber = duplicate('events');
      closers.push(async () => void subscriber.disconnect());
      const feed = new ChangeFeed(subscriber, settings.eventsChannel, logger);
      await feed.start();
      closers.push(() => feed.close());
      const workerConnection = duplicate('taskmanager');
      closers.push(
        async () => void (await workerConnection.quit().catch(() => workerConnection.disconnect())),
      );
      const taskmanager = new Taskmanager({
        prisma,
        redis,
        provider: provider!,
        settings,
        publisher,
        feed,
        guestAccess: guestAccess!,
        logger: logger.child({ role: 'taskmanager' }),
        workerConnection,
      });
      closers.push(() => taskmanager.stop());
      await taskmanager.start();
      // The creating process gets the provider ready for creates (standby guests, locally).
      provider!.prepareForCreates?.();
    }

    if (roles.has('watchdog')) {
      const watchdog = new Watchdog({
        prisma,
        redis,
        provider: provider!,
        publisher,
        settings,
        guestAccess: guestAccess!,
        logger: logger.child({ role: 'watchdog' }),
      });
      closers.push(() => watchdog.stop());
      watchdog.start();
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  logger.info(
    {
      roles: [...roles],
      computeProvider: provider?.name ?? null,
      heartbeatIntervalSeconds: settings.heartbeatIntervalSeconds,
      heartbeatExpirySeconds: settings.heartbeatExpirySeconds,
      backups: settings.backupStore
        ? settings.backupStore.kind === 'local'
          ? `local ${settings.backupStore.root}`
          : `swift ${settings.backupStore.container} at ${new URL(settings.backupStore.authUrl).host}`
        : null,
    },
    'worker started',
  );

  let stopping: Promise<void> | null = null;
  return {
    settings,
    provider,
    stop() {
      stopping ??= (async () => {
        logger.info('worker stopping');
        await closeAll();
        logger.info('worker stopped');
      })();
      return stopping;
    },
  };
}
