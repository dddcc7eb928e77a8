import { type FaultPayload, type GuestResult, type guestMethods } from '@coffer/contracts';
import { type z } from 'zod';

/**
 * What a datastore manager does for the agent (Trove's guestagent datastore managers): one
 * per datastore, `mariadb` first. The agent owns RPC, heartbeats and shutdown; the manager
 * owns the server.
 */

export type PrepareParams = z.infer<(typeof guestMethods)['prepare']['params']>;

export interface DatastoreManager {
  /** After the guest (re)starts: start a prepared server that is not running, adopt one that is. */
  boot(): Promise<void>;
  prepare(params: PrepareParams): Promise<GuestResult<'prepare'>>;
  restart(): Promise<GuestResult<'restart'>>;
  stopDb(): Promise<GuestResult<'stop_db'>>;
  getStatus(): Promise<GuestResult<'get_status'>>;
  /** Stops the server because the guest stops. */
  shutdown(): Promise<void>;
}

/** How a manager tells the agent that something happened. */
export interface ManagerEvents {
  /** The service status may have changed: report it now, not at the next beat. */
  onStatusChange(): void;
  /** A failure the tenant should read. */
  onFault(fault: FaultPayload): void;
}

/** A failure with a message written for the tenant (it becomes the instance's fault). */
export class TenantFacingError extends Error {
  constructor(
    message: string,
    readonly details?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TenantFacingError';
  }
}
