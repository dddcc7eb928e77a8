import { type GuestAgentConfig, type GuestInfo } from '@coffer/contracts';

import { type AllowedSources } from './allowed-sources';

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

/** A flavor's size: what a server may use. */
export interface Flavor {
  vcpus: number;
  ramMb: number;
}

export interface ServerSpec {
  instanceId: string;
  projectId: string;
  flavor: Flavor;
  volumeGb: number;
  /**
   * The port the instance's row already records (a create run again, an address fixed
   * beforehand): kept when the provider can, `PORT_TAKEN` when another server holds it.
   * Callers never pick one: absent, the provider chooses (the local provider a free port of
   * its range, a VM provider the datastore's standard port) and `ServerInfo.port` says which.
   */
  port?: number;
  /** Who may reach the database port; default: private, no CIDRs. See `setAllowedSources`. */
  allowedSources?: AllowedSources;
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
  /** The flavor the server was created or last resized to. */
  flavor: Flavor;
  /** The volume's size as created or last extended. */
  volumeGb: number;
  /** As created or last set. */
  allowedSources: AllowedSources;
}

/**
 * How `extendVolume` went: `online` (nothing stopped), `offline` (the caller's `whileOffline`
 * stopped and started what uses the volume), `restarted` (the provider restarted the server),
 * `unchanged` (it already had the size).
 */
export type VolumeGrowth = 'online' | 'offline' | 'restarted' | 'unchanged';

/** How resizeServer applied a flavor: to the running server, or by restarting it. */
export type ServerResize = 'in-place' | 'restarted';

export interface ExtendVolumeOptions {
  /**
   * Called when the volume must be offline to grow: stop everything on the server that uses
   * the volume (the database server; the guest agent keeps no file open on it), run `work`
   * (which unmounts, grows and mounts it again), then start it again, whether `work` failed or
   * not. Cheaper than restarting the whole server.
   */
  whileOffline?: (work: () => Promise<void>) => Promise<void>;
}

export interface ComputeProvider {
  readonly name: string;
  /** Idempotent for the same instanceId: a retried create reuses (and restarts if needed) what exists. */
  createServer(spec: ServerSpec): Promise<ServerInfo>;
  getServer(serverId: string): Promise<ServerInfo | null>;
  /** Restarts the server; its guest brings the database server back. `NOT_FOUND` when there is none. */
  rebootServer(serverId: string): Promise<void>;
  /**
   * Gives the server a flavor's CPUs and memory (Nova's resize and confirm). A provider may
   * restart the server to do it (Nova does); the database's own sizing (my.cnf) is the
   * guest's, told by the taskmanager. Idempotent. `INVALID` for a flavor that is not positive
   * whole numbers, `NOT_FOUND` when there is no server (or it is being deleted). Says whether
   * the server was restarted for it (the guest then starts its database server again: what it
   * said before may no longer hold).
   */
  resizeServer(serverId: string, flavor: Flavor): Promise<ServerResize>;
  /**
   * Grows the server's volume to `volumeGb` (Cinder's extend; never shrinks). Idempotent:
   * the same size again does nothing. `INVALID` for a smaller or non-whole size, `NOT_FOUND`
   * when there is no server. Where the volume must be taken offline to grow, the provider
   * stops what uses it: with `whileOffline`, the caller does (Trove's stop_db, then restart),
   * else the provider restarts the whole server. Says how it grew.
   */
  extendVolume(
    serverId: string,
    volumeGb: number,
    options?: ExtendVolumeOptions,
  ): Promise<VolumeGrowth>;
  /**
   * Replaces who may reach the server's database port (a security group's rules). The
   * control plane always may. `INVALID` (and nothing changes) for sources that
   * `parseAllowedSources` refuses, `NOT_FOUND` when there is no server.
   */
  setAllowedSources(serverId: string, sources: AllowedSources): Promise<void>;
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
  /**
   * How other guests reach this server's guest for a direct stream (a replica seeded
   * straight from its source, issue 18): the address and port its guest may listen on, open
   * to the guests of this provider (the stream authenticates them itself, TLS-PSK).
   * Optional: without it, or when it says null, replicas are seeded through the object store.
   */
  guestStreamEndpoint?(serverId: string): Promise<GuestStreamEndpoint | null>;
  /**
   * Called once by the process that creates servers (the taskmanager's), at its start: the
   * provider may get ready for creates ahead (the local provider starts its standby guests).
   * Optional.
   */
  prepareForCreates?(): void;
  /** Releases what the provider holds in this process (never the servers). Optional. */
  close?(): Promise<void>;
}

/** Where a server's guest listens for a direct stream, as other guests reach it. */
export interface GuestStreamEndpoint {
  host: string;
  port: number;
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

/**
 * Why a provider refused or failed, for callers to switch on (never its message, which is for
 * people):
 * - `INVALID`: the request cannot be honoured as given (not an instance id, a spec that
 *   contradicts itself, a smaller volume, sources that do not parse); the same request fails again.
 * - `NOT_FOUND`: no such server, or it is being deleted.
 * - `PORT_TAKEN`: the requested port belongs to another server; ask again without a port.
 * - `QUOTA`: the provider is out of what the request needs (no free port left in the range,
 *   a cloud's quota refused it).
 * - `UNAVAILABLE`: the provider cannot do it now or is not set up for it (the guest could not
 *   be started, a missing setting, a cloud service that does not answer); may succeed later.
 */
export const COMPUTE_ERROR_CODES = [
  'INVALID',
  'NOT_FOUND',
  'PORT_TAKEN',
  'QUOTA',
  'UNAVAILABLE',
] as const;
export type ComputeErrorCode = (typeof COMPUTE_ERROR_CODES)[number];

/** Thrown for requests a provider cannot satisfy; `code` says why. */
export class ComputeError extends Error {
  constructor(
    readonly code: ComputeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ComputeError';
  }
}

/** True when `error` is a ComputeError with `code`. */
export function isComputeError(error: unknown, code: ComputeErrorCode): error is ComputeError {
  return error instanceof ComputeError && error.code === code;
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
