import { type GuestResult, type ReplicationStatus, type ServiceStatus } from '@coffer/contracts';

import {
  type DatastoreManager,
  type ManagerContext,
  type MethodParams,
  type PrepareParams,
  type ServerMetricsReading,
} from '../datastore-manager';
import { GuestConfigError } from '../../config';
import { findMariadbBinaries } from './binaries';
import { parseMariadbEnv, type MariadbEnv } from './env';
import { checkSocketPathFits } from './layout';
import { MariadbAdmin } from './manager/admin';
import { AdminSession } from './manager/admin-session';
import { MariadbBackups } from './manager/backups';
import { MariadbConfiguration } from './manager/configuration';
import { MariadbLifecycle } from './manager/lifecycle';
import { MariadbLogs } from './manager/logs';
import { MariadbMetrics } from './manager/metrics';
import { MariadbReplication } from './manager/replication';
import { MariadbResize } from './manager/resize';
import { MariadbRuntime, type MariadbManagerOptions } from './manager/runtime';
import { ServerState } from './manager/server-state';

export { type MariadbManagerOptions } from './manager/runtime';

/** The registry's entry for `mariadb`: the manager, from what the agent gives every manager. */
export function createMariadbManager(context: ManagerContext): MariadbManager {
  checkSocketPathFits(context.configDir, context.config.datastore);
  const { env } = context;
  let mariadbEnv: MariadbEnv;
  try {
    mariadbEnv = parseMariadbEnv(env.vars);
  } catch (error) {
    throw new GuestConfigError((error as Error).message);
  }
  return new MariadbManager({
    configDir: context.configDir,
    info: context.info,
    config: context.config,
    findBinaries: () => findMariadbBinaries({ path: env.PATH, binDir: mariadbEnv.binDir }),
    path: env.PATH,
    templateDir: mariadbEnv.templateDir,
    earlyInstall: context.earlyInstall,
    logger: context.logger,
    events: context.events,
    runExclusive: context.runExclusive,
    ...context.timing,
  });
}

/**
 * The MariaDB datastore manager (Trove's mysql_common/manager.py): the agent's methods,
 * each handed to the part that does it (lifecycle and status, admin, replication, backups;
 * see manager/).
 */
export class MariadbManager implements DatastoreManager {
  private readonly lifecycle: MariadbLifecycle;
  private readonly admin: MariadbAdmin;
  private readonly replication: MariadbReplication;
  private readonly backups: MariadbBackups;
  private readonly resize: MariadbResize;
  private readonly configuration: MariadbConfiguration;
  private readonly logs: MariadbLogs;
  private readonly metrics: MariadbMetrics;
  readonly errorLogPath: string;
  readonly volumeContentPath: string;

  constructor(options: MariadbManagerOptions) {
    const runtime = new MariadbRuntime(options);
    this.errorLogPath = runtime.layout.logError;
    this.volumeContentPath = runtime.layout.datadir;
    const state = new ServerState(runtime.layout);
    const session = new AdminSession(runtime, state);
    this.backups = new MariadbBackups(runtime, state, session);
    this.lifecycle = new MariadbLifecycle(runtime, state, session, this.backups);
    this.admin = new MariadbAdmin(runtime, session);
    this.replication = new MariadbReplication(runtime, state, session);
    this.resize = new MariadbResize(runtime, state, this.lifecycle);
    this.configuration = new MariadbConfiguration(runtime, state, session);
    this.logs = new MariadbLogs(runtime, state, session);
    this.metrics = new MariadbMetrics(runtime, state, session);
  }

  // --- Lifecycle and status (manager/lifecycle.ts) ---

  boot(): Promise<void> {
    return this.lifecycle.boot();
  }
  prepare(params: PrepareParams): Promise<GuestResult<'prepare'>> {
    return this.lifecycle.prepare(params);
  }
  restart(): Promise<GuestResult<'restart'>> {
    return this.lifecycle.restart();
  }
  stopDb(): Promise<GuestResult<'stop_db'>> {
    return this.lifecycle.stopDb();
  }
  async getStatus(): Promise<GuestResult<'get_status'>> {
    const status = await this.lifecycle.getStatus();
    // A running server with configuration values that wait for its restart (manager/configuration.ts).
    if (status.serviceStatus === 'RUNNING' && this.configuration.pendingRestart().length > 0) {
      return { ...status, serviceStatus: 'RESTART_REQUIRED' };
    }
    return status;
  }
  shutdown(): Promise<void> {
    return this.lifecycle.shutdown();
  }
  shutdownStatus(): ServiceStatus {
    return this.lifecycle.shutdownStatus();
  }

  /**
   * The guest is stopping: a backup under way stops (it fails, and removes what it stored),
   * and so does a restore's fetch (one following a snapshot may be waiting for its chunks).
   */
  interruptLongOperations(): void {
    this.lifecycle.stopSupervising();
    this.backups.interrupt();
    this.logs.stop();
  }

  // --- Databases, users, access and root (manager/admin.ts) ---

  listDatabases(): Promise<GuestResult<'list_databases'>> {
    return this.admin.listDatabases();
  }
  createDatabase(params: MethodParams<'create_database'>): Promise<GuestResult<'create_database'>> {
    return this.admin.createDatabase(params);
  }
  deleteDatabase(params: MethodParams<'delete_database'>): Promise<GuestResult<'delete_database'>> {
    return this.admin.deleteDatabase(params);
  }
  listUsers(): Promise<GuestResult<'list_users'>> {
    return this.admin.listUsers();
  }
  createUser(params: MethodParams<'create_user'>): Promise<GuestResult<'create_user'>> {
    return this.admin.createUser(params);
  }
  updateUser(params: MethodParams<'update_user'>): Promise<GuestResult<'update_user'>> {
    return this.admin.updateUser(params);
  }
  deleteUser(params: MethodParams<'delete_user'>): Promise<GuestResult<'delete_user'>> {
    return this.admin.deleteUser(params);
  }
  listAccess(params: MethodParams<'list_access'>): Promise<GuestResult<'list_access'>> {
    return this.admin.listAccess(params);
  }
  grantAccess(params: MethodParams<'grant_access'>): Promise<GuestResult<'grant_access'>> {
    return this.admin.grantAccess(params);
  }
  revokeAccess(params: MethodParams<'revoke_access'>): Promise<GuestResult<'revoke_access'>> {
    return this.admin.revokeAccess(params);
  }
  enableRoot(params: MethodParams<'enable_root'>): Promise<GuestResult<'enable_root'>> {
    return this.admin.enableRoot(params);
  }
  disableRoot(): Promise<GuestResult<'disable_root'>> {
    return this.admin.disableRoot();
  }

  // --- Replication (manager/replication.ts) ---

  getReplicationStatus(): Promise<GuestResult<'get_replication_status'>> {
    return this.replication.getReplicationStatus();
  }
  readServerMetrics(): Promise<ServerMetricsReading | undefined> {
    return this.metrics.readServerMetrics();
  }
  readReplicationForHeartbeat(): Promise<ReplicationStatus | undefined> {
    return this.replication.readReplicationForHeartbeat();
  }
  createReplicationUser(
    params: MethodParams<'create_replication_user'>,
  ): Promise<GuestResult<'create_replication_user'>> {
    return this.replication.createReplicationUser(params);
  }
  dropReplicationUser(
    params: MethodParams<'drop_replication_user'>,
  ): Promise<GuestResult<'drop_replication_user'>> {
    return this.replication.dropReplicationUser(params);
  }
  attachReplica(params: MethodParams<'attach_replica'>): Promise<GuestResult<'attach_replica'>> {
    return this.replication.attachReplica(params);
  }
  setReadOnly(params: MethodParams<'set_read_only'>): Promise<GuestResult<'set_read_only'>> {
    return this.replication.setReadOnly(params);
  }
  waitForGtid(params: MethodParams<'wait_for_gtid'>): Promise<GuestResult<'wait_for_gtid'>> {
    return this.replication.waitForGtid(params);
  }
  stopReplication(): Promise<GuestResult<'stop_replication'>> {
    return this.replication.stopReplication();
  }

  // --- Backups (manager/backups.ts; the work itself in backup/) ---

  createBackup(params: MethodParams<'create_backup'>): Promise<GuestResult<'create_backup'>> {
    return this.backups.createBackup(params);
  }

  // --- Resize (manager/resize.ts) ---

  applyFlavor(params: MethodParams<'apply_flavor'>): Promise<GuestResult<'apply_flavor'>> {
    return this.resize.applyFlavor(params);
  }
  volumeUsage(): Promise<GuestResult<'volume_usage'>> {
    return Promise.resolve(this.resize.volumeUsage());
  }

  // --- Configuration groups (manager/configuration.ts) ---

  applyConfiguration(
    params: MethodParams<'apply_configuration'>,
  ): Promise<GuestResult<'apply_configuration'>> {
    return this.configuration.apply(params);
  }
  getConfiguration(): Promise<GuestResult<'get_configuration'>> {
    return this.configuration.effective();
  }

  // --- Database logs (manager/logs.ts) ---

  listLogs(): Promise<GuestResult<'list_logs'>> {
    return this.logs.list();
  }
  setLog(params: MethodParams<'set_log'>): Promise<GuestResult<'set_log'>> {
    return this.logs.set(params);
  }
  showLog(params: MethodParams<'show_log'>): Promise<GuestResult<'show_log'>> {
    return this.logs.show(params);
  }
  downloadLog(params: MethodParams<'download_log'>): Promise<GuestResult<'download_log'>> {
    return this.logs.download(params);
  }
  publishLog(params: MethodParams<'publish_log'>): Promise<GuestResult<'publish_log'>> {
    return this.logs.publish(params);
  }
}
