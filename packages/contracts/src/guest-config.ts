import { z } from 'zod';

import { datastoreManagerNameSchema } from './datastore';
import { DEFAULT_HEARTBEAT_INTERVAL_SECONDS } from './status';

/**
 * The two files injected into a new server (Trove's /etc/trove/conf.d): `guest_info.json`
 * says who the guest is, `guest-agent.json` (mode 0600) how it reaches its control plane.
 * The compute provider writes them; the guest reads them at boot and refuses to start when
 * they do not parse.
 */
export const GUEST_INFO_FILE = 'guest_info.json';
export const GUEST_AGENT_CONFIG_FILE = 'guest-agent.json';

export const guestInfoSchema = z.object({
  /** Trove's guest_id. */
  instanceId: z.uuid(),
  /** Trove's tenant_id. */
  projectId: z.uuid(),
  /** The guest manager that runs the datastore, e.g. "mariadb" (the guest's registry decides). */
  datastoreManager: datastoreManagerNameSchema,
  /** The datastore version name, e.g. "10.11". */
  datastoreVersion: z.string().min(1),
});
export type GuestInfo = z.infer<typeof guestInfoSchema>;

export const guestAgentConfigSchema = z.object({
  /** Redis that carries the RPC queue and the conductor stream. */
  redisUrl: z.string().min(1),
  rpcQueue: z.string().min(1),
  conductorStream: z.string().min(1),
  /** This guest's own secret (base64): signs its messages, checks its RPC, opens sealed secrets. */
  guestSecret: z.string().min(32),
  heartbeatIntervalSeconds: z.number().positive().default(DEFAULT_HEARTBEAT_INTERVAL_SECONDS),
  datastore: z.object({
    bindAddress: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535),
    /** The volume: the server's datadir lives here. */
    volumeDir: z.string().min(1),
    logDir: z.string().min(1),
    /** Socket, pid file and other runtime files. */
    runDir: z.string().min(1),
  }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /**
   * What the server will be sized for, when it is known at create time: the guest then
   * installs the datadir while it boots, before `prepare` arrives, which takes the guest's own
   * start-up off the provisioning path. Absent when the volume will be filled otherwise (a
   * restore, a replica): the guest then waits for `prepare`.
   */
  preinstall: z
    .object({ memoryMb: z.number().int().positive(), vcpus: z.number().int().positive() })
    .optional(),
});
export type GuestAgentConfig = z.infer<typeof guestAgentConfigSchema>;
