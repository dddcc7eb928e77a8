import {
  type BackupReport,
  type EventPayload,
  type FaultPayload,
  type GuestAgentConfig,
  type GuestInfo,
  type GuestResult,
  type guestMethods,
  type ReplicationStatus,
  type ServiceStatus,
} from '@coffer/contracts';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { type GuestEnv } from '../env';
import { type ServerCounters } from './mariadb/server-counters';

/**
 * What a datastore manager does for the agent (Trove's guestagent datastore managers): one
 * per datastore, `mariadb` first, picked by guest_info's `datastoreManager` from the registry
 * (registry.ts). The agent owns RPC, heartbeats and shutdown; the manager owns the server.
 * The agent calls nothing else of it.
 */

export type PrepareParams = z.infer<(typeof guestMethods)['prepare']['params']>;
export type MethodParams<M extends keyof typeof guestMethods> = z.infer<
  (typeof guestMethods)[M]['params']
>;

export interface DatastoreManager {
  /** The server's error log, where a full volume shows first (read by the agent's volume watch); none: statfs alone. */
  readonly errorLogPath?: string;
  /** A path on the volume that exists once the datastore is on it (the agent's volume watch reports only then); none: always. */
  readonly volumeContentPath?: string;
  /** After the guest (re)starts: start a prepared server that is not running, adopt one that is. */
  boot(): Promise<void>;
  prepare(params: PrepareParams): Promise<GuestResult<'prepare'>>;
  restart(): Promise<GuestResult<'restart'>>;
  stopDb(): Promise<GuestResult<'stop_db'>>;
  getStatus(): Promise<GuestResult<'get_status'>>;
  /** Databases, users, access and root (Trove's database and user APIs). */
  listDatabases(): Promise<GuestResult<'list_databases'>>;
  createDatabase(params: MethodParams<'create_database'>): Promise<GuestResult<'create_database'>>;
  deleteDatabase(params: MethodParams<'delete_database'>): Promise<GuestResult<'delete_database'>>;
  listUsers(): Promise<GuestResult<'list_users'>>;
  createUser(params: MethodParams<'create_user'>): Promise<GuestResult<'create_user'>>;
  updateUser(params: MethodParams<'update_user'>): Promise<GuestResult<'update_user'>>;
  deleteUser(params: MethodParams<'delete_user'>): Promise<GuestResult<'delete_user'>>;
  listAccess(params: MethodParams<'list_access'>): Promise<GuestResult<'list_access'>>;
  grantAccess(params: MethodParams<'grant_access'>): Promise<GuestResult<'grant_access'>>;
  revokeAccess(params: MethodParams<'revoke_access'>): Promise<GuestResult<'revoke_access'>>;
  enableRoot(params: MethodParams<'enable_root'>): Promise<GuestResult<'enable_root'>>;
  disableRoot(): Promise<GuestResult<'disable_root'>>;
  /** Replication (Trove's replication strategies): status, accounts, attach, read-only, wait, stop. */
  getReplicationStatus(): Promise<GuestResult<'get_replication_status'>>;
  createReplicationUser(
    params: MethodParams<'create_replication_user'>,
  ): Promise<GuestResult<'create_replication_user'>>;
  dropReplicationUser(
    params: MethodParams<'drop_replication_user'>,
  ): Promise<GuestResult<'drop_replication_user'>>;
  attachReplica(params: MethodParams<'attach_replica'>): Promise<GuestResult<'attach_replica'>>;
  setReadOnly(params: MethodParams<'set_read_only'>): Promise<GuestResult<'set_read_only'>>;
  waitForGtid(params: MethodParams<'wait_for_gtid'>): Promise<GuestResult<'wait_for_gtid'>>;
  stopReplication(): Promise<GuestResult<'stop_replication'>>;
  /**
   * What the metrics sampler reads of the server (its process and counters); never throws
   * (undefined: no server process). Optional: a manager without it sends the guest's own figures only.
   */
  readServerMetrics?(): Promise<ServerMetricsReading | undefined>;
  /** What heartbeats say about replication; never throws (undefined: nothing to say now). */
  readReplicationForHeartbeat(): Promise<ReplicationStatus | undefined>;
  /** Backups (Trove's backup strategies): makes one, reporting its progress through the events. */
  createBackup(params: MethodParams<'create_backup'>): Promise<GuestResult<'create_backup'>>;
  /** Resize: a flavor's sizing in the server's config, with a restart; the volume's size now. */
  applyFlavor(params: MethodParams<'apply_flavor'>): Promise<GuestResult<'apply_flavor'>>;
  volumeUsage(): Promise<GuestResult<'volume_usage'>>;
  /** Configuration groups: the values as the server's overrides, dynamic ones at once. */
  applyConfiguration(
    params: MethodParams<'apply_configuration'>,
  ): Promise<GuestResult<'apply_configuration'>>;
  /** Every configuration parameter in force, with its source. */
  getConfiguration(): Promise<GuestResult<'get_configuration'>>;
  /** Database logs (Trove's guest logs): list, switch, tail, download, publish; passwords masked. */
  listLogs(): Promise<GuestResult<'list_logs'>>;
  setLog(params: MethodParams<'set_log'>): Promise<GuestResult<'set_log'>>;
  showLog(params: MethodParams<'show_log'>): Promise<GuestResult<'show_log'>>;
  downloadLog(params: MethodParams<'download_log'>): Promise<GuestResult<'download_log'>>;
  publishLog(params: MethodParams<'publish_log'>): Promise<GuestResult<'publish_log'>>;
  /** The guest is stopping: work that could hold the manager long (a backup, a restore's fetch) stops now. */
  interruptLongOperations(): void;
  /** Stops the server because the guest stops. */
  shutdown(): Promise<void>;
  /** The last heartbeat's status, once shut down. */
  shutdownStatus(): ServiceStatus;
}

/** The server's process id, and its counters (null when they could not be read now). */
export interface ServerMetricsReading {
  pid: number;
  counters: ServerCounters | null;
}

/** How a manager tells the agent that something happened. */
export interface ManagerEvents {
  /** The service status may have changed: report it now, not at the next beat. */
  onStatusChange(): void;
  /** A failure the tenant should read. */
  onFault(fault: FaultPayload): void;
  /** Something that happened unasked (the server died and was restarted…), for the instance's event timeline. */
  onEvent(event: EventPayload): void;
  /** A backup's progress or end, for the conductor (awaited: the end must arrive). */
  onBackupReport(report: BackupReport): Promise<void>;
}

/** What the agent gives a manager's factory (one registry entry per datastore). */
export interface ManagerContext {
  configDir: string;
  info: GuestInfo;
  config: GuestAgentConfig;
  /** PATH, and the raw environment (`vars`) for the datastore's own settings, which its folder parses. */
  env: GuestEnv;
  /** What the datastore's early boot hook started at boot (boot/early-install.ts), if any: MariaDB's datadir install. */
  earlyInstall: Promise<void> | null;
  logger: Logger;
  events: ManagerEvents;
  /** Runs work that changes the server under the agent's lock (as the RPC methods run). */
  runExclusive: <T>(task: () => Promise<T>) => Promise<T>;
  /** Timings that follow the heartbeat interval. */
  timing: {
    /** How often the server process is looked at. */
    supervisePollMs: number;
    /** How long a ping may take before the server counts as not answering. */
    pingTimeoutMs: number;
    /** How long a live server may go without answering before it counts as CRASHED. */
    unresponsiveGraceMs: number;
  };
}
