import { guestKeys } from '@coffer/contracts/crypto';
import { Redis } from 'ioredis';
import { type Logger } from 'pino';

import { type GuestConfig } from './config';
import { nextBootEpoch } from './conductor/boot-epoch';
import { ConductorReporter } from './conductor/conductor-reporter';
import { Heartbeat } from './conductor/heartbeat';
import { MetricsSampler } from './conductor/metrics-sampler';
import { VolumeWatch } from './conductor/volume-watch';
import { type GuestEnv } from './env';
import { Mutex } from './lib/mutex';
import { withTimeout } from './lib/timeout';
import { redactUrl } from './logger';
import { type DatastoreManager } from './managers/datastore-manager';
import { datastoreManagers, type ManagerFactory } from './managers/registry';
import { RpcServer } from './rpc/rpc-server';
import { GUEST_VERSION } from './version';

/** How long running RPC jobs get to finish when the guest stops. */
const RPC_DRAIN_TIMEOUT_MS = 20_000;

/**
 * One guest agent: consumes its RPC queue, runs the datastore manager guest_info names (from
 * the registry), and reports to the conductor. Knows nothing of the control plane beyond the
 * injected files, nor of any datastore beyond the DatastoreManager interface.
 */
export class GuestAgent {
  private readonly redis: Redis;
  private readonly reporter: ConductorReporter;
  private readonly manager: DatastoreManager;
  private readonly heartbeat: Heartbeat;
  private readonly rpc: RpcServer;
  private readonly mutex = new Mutex();
  private shutdownPromise: Promise<void> | null = null;

  /**
   * The agent for the datastore guest_info names. First, before anything opens: a datastore
   * this guest has no manager for rejects with UnknownDatastoreError (and a config its manager
   * refuses, with GuestConfigError).
   */
  static async create(
    config: GuestConfig,
    env: GuestEnv,
    logger: Logger,
    /** The early install started by main.ts before this module loaded, if any. */
    earlyInstall: Promise<void> | null = null,
  ): Promise<GuestAgent> {
    const createManager = await datastoreManagers.factoryFor(config.info.datastoreManager);
    return new GuestAgent(config, env, logger, createManager, earlyInstall);
  }

  private constructor(
    private readonly config: GuestConfig,
    env: GuestEnv,
    private readonly logger: Logger,
    createManager: ManagerFactory,
    earlyInstall: Promise<void> | null,
  ) {
    const { agent, info } = config;
    const keys = guestKeys(agent.guestSecret);
    const intervalMs = agent.heartbeatIntervalSeconds * 1000;

    this.redis = new Redis(agent.redisUrl, {
      maxRetriesPerRequest: null,
      connectionName: `coffer-guest-${info.instanceId}`,
    });
    let lastRedisError = 0;
    this.redis.on('error', (error) => {
      if (Date.now() - lastRedisError < 10_000) return;
      lastRedisError = Date.now();
      logger.warn({ err: error, redis: redactUrl(agent.redisUrl) }, 'redis connection error');
    });

    this.reporter = new ConductorReporter({
      redis: this.redis,
      stream: agent.conductorStream,
      instanceId: info.instanceId,
      signingKey: keys.signing,
      epoch: nextBootEpoch(config.configDir, (content) =>
        logger.warn(
          { content },
          'the boot epoch file was unreadable: starting over from the clock',
        ),
      ),
    });
    this.manager = createManager({
      configDir: config.configDir,
      info,
      config: agent,
      env,
      earlyInstall,
      logger: logger.child({ component: info.datastoreManager }),
      events: {
        onStatusChange: () => this.heartbeat.nudge(),
        onFault: (fault) => {
          this.reporter
            .sendFault(fault)
            .catch((error: unknown) => logger.error({ err: error }, 'fault not sent'));
        },
        onEvent: (event) => {
          this.reporter
            .sendEvent(event)
            .catch((error: unknown) => logger.error({ err: error }, 'event not sent'));
        },
        onBackupReport: async (report) => void (await this.reporter.sendBackup(report)),
      },
      runExclusive: (task) => this.mutex.run(task),
      timing: {
        supervisePollMs: Math.min(1000, intervalMs),
        pingTimeoutMs: Math.min(3000, Math.max(1000, intervalMs)),
        unresponsiveGraceMs: Math.max(5000, 2 * intervalMs),
      },
    });
    // The volume's usage, and a fault while it is full (the server's error log tells too).
    const volumeWatch = new VolumeWatch(
      agent.datastore.volumeDir,
      this.manager.errorLogPath,
      this.manager.volumeContentPath,
    );
    // A metrics sample after every beat (issue 16), with what the beat read.
    const metrics = new MetricsSampler({
      intervalMs,
      readServer: this.manager.readServerMetrics
        ? () => this.manager.readServerMetrics!()
        : undefined,
      reporter: this.reporter,
      logger,
    });
    this.heartbeat = new Heartbeat({
      intervalMs,
      readStatus: () => this.manager.getStatus(),
      readReplication: () => this.manager.readReplicationForHeartbeat(),
      readVolume: () => volumeWatch.read(),
      afterBeat: (readings) => metrics.afterBeat(readings),
      reporter: this.reporter,
      logger,
    });
    this.rpc = new RpcServer({
      connection: this.redis,
      queueName: agent.rpcQueue,
      instanceId: info.instanceId,
      signingKey: keys.signing,
      mutex: this.mutex,
      logger: logger.child({ component: 'rpc' }),
      handlers: {
        prepare: (params) => this.manager.prepare(params),
        restart: () => this.manager.restart(),
        stop_db: () => this.manager.stopDb(),
        get_status: () => this.manager.getStatus(),
        create_backup: (params) => this.manager.createBackup(params),
        list_databases: () => this.manager.listDatabases(),
        create_database: (params) => this.manager.createDatabase(params),
        delete_database: (params) => this.manager.deleteDatabase(params),
        list_users: () => this.manager.listUsers(),
        create_user: (params) => this.manager.createUser(params),
        update_user: (params) => this.manager.updateUser(params),
        delete_user: (params) => this.manager.deleteUser(params),
        list_access: (params) => this.manager.listAccess(params),
        grant_access: (params) => this.manager.grantAccess(params),
        revoke_access: (params) => this.manager.revokeAccess(params),
        enable_root: (params) => this.manager.enableRoot(params),
        disable_root: () => this.manager.disableRoot(),
        get_replication_status: () => this.manager.getReplicationStatus(),
        create_replication_user: (params) => this.manager.createReplicationUser(params),
        drop_replication_user: (params) => this.manager.dropReplicationUser(params),
        attach_replica: (params) => this.manager.attachReplica(params),
        set_read_only: (params) => this.manager.setReadOnly(params),
        wait_for_gtid: (params) => this.manager.waitForGtid(params),
        stop_replication: () => this.manager.stopReplication(),
        apply_flavor: (params) => this.manager.applyFlavor(params),
        volume_usage: () => this.manager.volumeUsage(),
        apply_configuration: (params) => this.manager.applyConfiguration(params),
        get_configuration: () => this.manager.getConfiguration(),
        list_logs: () => this.manager.listLogs(),
        set_log: (params) => this.manager.setLog(params),
        show_log: (params) => this.manager.showLog(params),
        download_log: (params) => this.manager.downloadLog(params),
        publish_log: (params) => this.manager.publishLog(params),
      },
    });
  }

  async start(): Promise<void> {
    const { info, agent } = this.config;
    this.logger.info(
      {
        guestVersion: GUEST_VERSION,
        datastore: `${info.datastoreManager} ${info.datastoreVersion}`,
        queue: agent.rpcQueue,
        stream: agent.conductorStream,
        port: agent.datastore.port,
      },
      'guest starting',
    );
    for (const warning of this.config.warnings) this.logger.warn(warning);
    this.heartbeat.start();
    this.rpc.start();
    // Boot under the same lock as the RPC methods, so a prepare never races the server's start.
    await this.mutex.run(() => this.manager.boot());
    this.logger.info('guest ready');
  }

  /** Stop taking jobs, stop the server cleanly, say SHUTDOWN, disconnect. Safe to call twice. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.runShutdown();
    return this.shutdownPromise;
  }

  private async runShutdown(): Promise<void> {
    this.logger.info('guest stopping');
    // A backup or a restore's fetch under way would hold the manager until it ends: stop it (each cleans up after itself).
    this.manager.interruptLongOperations();
    await this.rpc.close(RPC_DRAIN_TIMEOUT_MS);
    await this.heartbeat.stop();
    await this.mutex.run(() => this.manager.shutdown());
    try {
      const { serverVersion } = await this.manager
        .getStatus()
        .catch(() => ({ serverVersion: null }));
      await withTimeout(
        this.reporter.sendHeartbeat({
          serviceStatus: this.manager.shutdownStatus(),
          guestVersion: GUEST_VERSION,
          serverVersion,
        }),
        5000,
        'sending the last heartbeat',
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'last heartbeat not sent');
    }
    await withTimeout(this.redis.quit(), 5000, 'closing redis').catch(() =>
      this.redis.disconnect(),
    );
    this.logger.info('guest stopped');
  }
}
