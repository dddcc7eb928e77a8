import {
  type BackupReport,
  type EventPayload,
  type FaultPayload,
  type GuestResult,
  type guestMethods,
} from '@coffer/contracts';
import { type z } from 'zod';

/**
 * What a datastore manager does for the agent (Trove's guestagent datastore managers): one
 * per datastore, `mariadb` first. The agent owns RPC, heartbeats and shutdown; the manager
 * owns the server.
 */

export type PrepareParams = z.infer<(typeof guestMethods)['prepare']['params']>;
export type MethodParams<M extends keyof typeof guestMethods> = z.infer<
  (typeof guestMethods)[M]['params']
>;

export interface DatastoreManager {
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
  /** Stops the server because the guest stops. */
  shutdown(): Promise<void>;
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

// The guest's errors live in ../errors.ts; re-exported for the modules that import them from here.
export { RequestRefusedError, StoppedByShutdownError, TenantFacingError } from '../errors';
