import { type GuestCommand } from './local/local-provider';
import { type PortRange } from './local/port-allocator';
import { type ComputeLogger, type ComputeProvider } from './provider';

/**
 * How a compute provider plugs into the worker: a folder exporting one definition, and one
 * line in the worker's registry (apps/worker/src/compute.ts) naming it. COFFER_COMPUTE_PROVIDER
 * picks a definition by `name` at boot.
 */
export interface ComputeProviderDefinition {
  /** What COFFER_COMPUTE_PROVIDER says to pick it: lower-case letters, digits and dashes. */
  readonly name: string;
  /**
   * Makes the provider, once, at the worker's boot. Throws `ComputeError('UNAVAILABLE')`
   * naming what is missing when it cannot be used as set up: the worker then refuses to start.
   */
  create(context: ComputeProviderContext): ComputeProvider;
}

/**
 * What the worker offers every provider it makes. A provider with settings of its own (an
 * OpenStack endpoint and credentials) parses them in its package's own zod env.ts, in `create`.
 */
export interface ComputeProviderContext {
  /** COFFER_DATA_DIR, where a provider that keeps files on this machine keeps them. */
  dataDir: string | undefined;
  /** COFFER_INSTANCE_HOST: the address tenants are given, for a provider that serves from this machine. */
  instanceHost: string;
  /** COFFER_INSTANCE_BIND_ADDRESS: where local database servers listen. */
  instanceBindAddress: string;
  /** COFFER_INSTANCE_PORT_RANGE: the ports a provider that shares one address hands out. */
  portRange: PortRange;
  /** How to start a guest agent on this machine (resolved only when asked). */
  guestCommand(): GuestCommand;
  logger: ComputeLogger;
}
