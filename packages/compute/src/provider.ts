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
  /**
   * A supervisor's round for one server: when its guest agent died without being asked to stop,
   * start it again, with a backoff between restarts and a bound on them (a crash loop gives up
   * and says so once). The local provider does it itself (its restart history is kept with the
   * server, so it survives a worker restart); a VM provider leaves it to the VM's init system
   * and reports what it sees. Never starts the guest of a server being deleted.
   */
  ensureServerRunning(serverId: string): Promise<GuestSupervision>;
}

/** What `ensureServerRunning` found, and did. */
export type GuestSupervision =
  /** The guest runs (or the server is stopped on purpose: nothing to do). */
  | { state: 'running' }
  /** The guest had died; it was started again (`restarts` within the window, this one included). */
  | { state: 'restarted'; restarts: number }
  /** The guest is dead and will be started again once the backoff is over. */
  | { state: 'waiting'; retryAt: Date }
  /** The guest kept dying: no more restarts until the server is rebooted; `isNew` the first time this is said. */
  | { state: 'given-up'; restarts: number; isNew: boolean }
  /** No such server (or it is being deleted). */
  | { state: 'missing' };

/** How often, and how soon, a provider restarts a guest agent that died. */
export interface GuestRestartPolicy {
  /** The delay after the first restart before a second one; doubled each time after. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Restarts allowed within `windowMs`; one more death and the provider gives up. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_GUEST_RESTART_POLICY: GuestRestartPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRestarts: 5,
  windowMs: 10 * 60_000,
};

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
