import { type GuestAgentConfig, type GuestInfo } from '@coffer/contracts';

/**
 * The compute-provider interface (Trove's use of Nova + Cinder): what the taskmanager needs
 * from "a server with a volume and two injected files". It names no provider's concepts:
 * the local provider implements it with a directory and a detached guest process, the
 * OpenStack provider with a Nova server, a Cinder volume and a config drive.
 */

/** What the control plane decides about the guest's agent config; the provider fills in the rest (paths, port, bind address). */
export type GuestAgentSettings = Pick<
  GuestAgentConfig,
  'redisUrl' | 'rpcQueue' | 'conductorStream' | 'guestSecret'
> &
  Partial<Pick<GuestAgentConfig, 'heartbeatIntervalSeconds' | 'logLevel' | 'preinstall'>>;

export interface ServerSpec {
  instanceId: string;
  projectId: string;
  flavor: { vcpus: number; ramMb: number };
  volumeGb: number;
  /**
   * The database port the server should listen on. Optional: the local provider allocates
   * a free one when absent, a VM-based provider uses the datastore's standard port.
   */
  port?: number;
  /** Injected as `guest_info.json`. */
  guestInfo: GuestInfo;
  /** Injected (completed by the provider) as `guest-agent.json`, mode 0600. */
  agentConfig: GuestAgentSettings;
}

/** Nova's server statuses, reduced to what the taskmanager acts on. */
export type ServerStatus = 'BUILD' | 'ACTIVE' | 'SHUTOFF' | 'ERROR';

export interface ServerInfo {
  /** The provider's id for the server; opaque to callers. */
  serverId: string;
  instanceId: string;
  /** Where clients reach the database. */
  host: string;
  port: number;
  /** The machine's state (ACTIVE: the guest runs), not the database's: that is the guest's heartbeat. */
  status: ServerStatus;
}

export interface ComputeProvider {
  readonly name: string;
  /** Idempotent for the same instanceId: a retried create reuses (and restarts if needed) what exists. */
  createServer(spec: ServerSpec): Promise<ServerInfo>;
  getServer(serverId: string): Promise<ServerInfo | null>;
  /** Restarts the server; its guest brings the database server back. */
  rebootServer(serverId: string): Promise<void>;
  /** Idempotent; leaves nothing behind (guest, database server, files, volume). */
  deleteServer(serverId: string): Promise<void>;
  /** Every server this provider runs, with or without a row in the control plane (for reconciliation). */
  listServers(): Promise<ServerInfo[]>;
}

/** Thrown for requests a provider cannot satisfy (bad spec, no free port...). */
export class ComputeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ComputeError';
  }
}

/** The logging the providers need; a pino logger fits. */
export interface ComputeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: ComputeLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
