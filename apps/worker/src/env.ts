import {
  DEFAULT_BACKUP_ZSTD_LEVEL,
  DEFAULT_CONDUCTOR_SHARDS,
  DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
} from '@coffer/contracts';
import {
  optionalSetting as optional,
  parseSettings,
  postgresUrlSetting as postgresUrl,
  redisUrlSetting as redisUrl,
  sharedSettings,
  urlWithProtocols,
} from '@coffer/runtime/settings';
import { z } from 'zod';

/**
 * The worker's environment, parsed with zod at boot: the only module of @coffer/worker that
 * reads process.env. Every setting is documented in README.md ("Settings"). Those the web app
 * reads too (master key, heartbeat expiry, queue prefix, quotas, log level) are declared once,
 * in @coffer/runtime/settings.
 */

const positiveSeconds = z.coerce.number().positive();

const portRange = z
  .string()
  .regex(/^[0-9]+-[0-9]+$/, 'must look like 23100-23999')
  .transform((value) => {
    const [min, max] = value.split('-').map(Number) as [number, number];
    return { min, max };
  })
  .refine(
    ({ min, max }) => min >= 1024 && max <= 65535 && min <= max,
    'must be a range of ports within 1024-65535',
  );

export const workerEnvSchema = z
  .object({
    /** The control-plane database. Required unless a Prisma client is passed to startWorker. */
    DATABASE_URL: optional(postgresUrl),
    /** Redis for the job queues, the conductor stream and change events. Required unless a connection is passed. */
    REDIS_URL: optional(redisUrl),
    /** Base64 of 32 bytes: the root of the job-payload and guest-secret-at-rest keys. */
    COFFER_MASTER_KEY: sharedSettings.COFFER_MASTER_KEY,
    /** Where the local compute provider keeps instances (`<dir>/instances/<id>`) and port claims. */
    COFFER_DATA_DIR: optional(z.string().min(1)),
    /** A compute provider's name, as registered in compute.ts (an unknown one fails at boot there). */
    COFFER_COMPUTE_PROVIDER: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'must be a compute provider name, e.g. local')
      .default('local'),
    /** The host shown to tenants (and stored on the instance). */
    COFFER_INSTANCE_HOST: z.string().min(1).default('127.0.0.1'),
    /** The address local database servers listen on. */
    COFFER_INSTANCE_BIND_ADDRESS: z.string().min(1).default('127.0.0.1'),
    /** The ports local database servers get. */
    COFFER_INSTANCE_PORT_RANGE: optional(portRange),
    COFFER_HEARTBEAT_INTERVAL_SECONDS: positiveSeconds.default(DEFAULT_HEARTBEAT_INTERVAL_SECONDS),
    COFFER_HEARTBEAT_EXPIRY_SECONDS: sharedSettings.COFFER_HEARTBEAT_EXPIRY_SECONDS,
    COFFER_CREATE_TIMEOUT_SECONDS: positiveSeconds.default(300),
    /** How far a guest message's sentAt may be from the control plane's clock (either way) before the conductor drops it. */
    COFFER_CONDUCTOR_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
    /** BullMQ key prefix of the taskmanager queue; the web app must use the same. */
    COFFER_QUEUE_PREFIX: sharedSettings.COFFER_QUEUE_PREFIX,
    /** The Redis URL guests are told (they may reach Redis by another address). Default: REDIS_URL. */
    COFFER_GUEST_REDIS_URL: optional(redisUrl),
    /**
     * Each guest's own Redis user, limited to its RPC queue and appending to the conductor stream
     * (guest-redis-access.ts): `auto` when Redis accepts ACL SETUSER, `on` (required), `off`
     * (every guest gets the shared URL).
     */
    COFFER_GUEST_REDIS_ACL: z.enum(['auto', 'on', 'off']).default('auto'),
    /** Where backups go: `local` (a directory) or `swift` (OpenStack Swift, see COFFER_SWIFT_AUTH). */
    COFFER_BACKUP_STORE: z.enum(['local', 'swift']).default('local'),
    /**
     * How the Swift store authenticates: `tempauth` (COFFER_SWIFT_AUTH_URL, _USER, _KEY) or
     * `keystone` (Keystone v3 with the COFFER_OPENSTACK_* credentials the OpenStack compute
     * provider reads too: an application credential, or a user, password and project).
     */
    COFFER_SWIFT_AUTH: z.enum(['tempauth', 'keystone']).default('tempauth'),
    COFFER_OPENSTACK_AUTH_URL: optional(
      urlWithProtocols(['http:', 'https:'], 'must be an http:// or https:// URL'),
    ),
    COFFER_OPENSTACK_USERNAME: optional(z.string().min(1)),
    COFFER_OPENSTACK_PASSWORD: optional(z.string().min(1)),
    COFFER_OPENSTACK_PROJECT_NAME: optional(z.string().min(1)),
    COFFER_OPENSTACK_USER_DOMAIN_NAME: optional(z.string().min(1)),
    COFFER_OPENSTACK_PROJECT_DOMAIN_NAME: optional(z.string().min(1)),
    COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID: optional(z.string().min(1)),
    COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: optional(z.string().min(1)),
    COFFER_OPENSTACK_REGION: optional(z.string().min(1)),
    COFFER_OPENSTACK_INTERFACE: z.enum(['public', 'internal', 'admin']).default('public'),
    /** The local store's directory (absolute). Default: `<COFFER_DATA_DIR>/backups`. */
    COFFER_BACKUP_DIR: optional(z.string().regex(/^\//, 'must be an absolute path')),
    /** Swift's tempauth endpoint, e.g. http://swift.example:8080/auth/v1.0. */
    COFFER_SWIFT_AUTH_URL: optional(
      urlWithProtocols(['http:', 'https:'], 'must be an http:// or https:// URL'),
    ),
    /** `account:user` for tempauth. */
    COFFER_SWIFT_USER: optional(z.string().min(1)),
    COFFER_SWIFT_KEY: optional(z.string().min(1)),
    COFFER_SWIFT_CONTAINER: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^/]+$/, 'must not contain /')
      .default('coffer-backups'),
    /**
     * Swift only: after a backup completes, the worker also writes `<backup prefix>/backup.slo`,
     * a Static Large Object of its chunks, so that Swift's own tools see the backup as one
     * object (backup-slo.ts). Coffer itself never reads it.
     */
    COFFER_SWIFT_SLO: z.enum(['on', 'off']).default('on'),
    /** Size of one backup chunk before encryption, in MiB (memory per upload in flight). */
    COFFER_BACKUP_CHUNK_MB: z.coerce.number().int().min(1).max(256).default(8),
    /**
     * Jobs one taskmanager runs at once (creates, deletes, backups…): a create mostly waits for
     * its guest, so a burst of creates is bounded by this more than by the machine.
     */
    COFFER_TASKMANAGER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
    /** Instances whose guest messages one conductor applies at once (each instance's in order). */
    COFFER_CONDUCTOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
    /**
     * Shards of the conductor stream (each guest writes to one; each conductor process reads the
     * shards it holds). Every worker must use the same; raise it, never lower it (a guest keeps
     * the shard it was told until its server is made again).
     */
    COFFER_CONDUCTOR_SHARDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(256)
      .default(DEFAULT_CONDUCTOR_SHARDS),
    /** Chunk uploads a guest runs at once. */
    COFFER_BACKUP_UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
    /** zstd's level for backups (the guest runs zstd on every core). */
    COFFER_BACKUP_ZSTD_LEVEL: z.coerce
      .number()
      .int()
      .min(1)
      .max(19)
      .default(DEFAULT_BACKUP_ZSTD_LEVEL),
    /**
     * A replica's snapshot sent straight from its source's guest to the replicas' guests
     * (issue 18): how long the source waits for them to connect, and a replica for its source,
     * before the object store is used instead; 0 always uses the object store.
     */
    COFFER_REPLICA_STREAM_WINDOW_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
    /** A project's backups quota unless an operator overrode it (-1: unlimited); the web app's default too. */
    COFFER_QUOTA_BACKUPS: sharedSettings.COFFER_QUOTA_BACKUPS,
    /** Set by the supervisor of `npm start`: how many times it started this process's role again (shown to operators). */
    COFFER_ROLE_RESTARTS: z.coerce.number().int().min(0).default(0),
    LOG_LEVEL: sharedSettings.LOG_LEVEL,
  })
  .refine((env) => env.COFFER_HEARTBEAT_EXPIRY_SECONDS > env.COFFER_HEARTBEAT_INTERVAL_SECONDS, {
    path: ['COFFER_HEARTBEAT_EXPIRY_SECONDS'],
    message: 'must be greater than COFFER_HEARTBEAT_INTERVAL_SECONDS',
  })
  .superRefine((env, ctx) => {
    if (env.COFFER_BACKUP_STORE !== 'swift') return;
    if (env.COFFER_SWIFT_AUTH === 'keystone') {
      if (!env.COFFER_OPENSTACK_AUTH_URL)
        ctx.addIssue({
          code: 'custom',
          path: ['COFFER_OPENSTACK_AUTH_URL'],
          message: 'is not set (required with COFFER_SWIFT_AUTH=keystone)',
        });
      const applicationCredential =
        env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID &&
        env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET;
      const password =
        env.COFFER_OPENSTACK_USERNAME &&
        env.COFFER_OPENSTACK_PASSWORD &&
        env.COFFER_OPENSTACK_PROJECT_NAME;
      if (!applicationCredential && !password)
        ctx.addIssue({
          code: 'custom',
          path: ['COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID'],
          message:
            'set COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID and _SECRET, or COFFER_OPENSTACK_USERNAME, _PASSWORD and _PROJECT_NAME (required with COFFER_SWIFT_AUTH=keystone)',
        });
      return;
    }
    for (const name of [
      'COFFER_SWIFT_AUTH_URL',
      'COFFER_SWIFT_USER',
      'COFFER_SWIFT_KEY',
    ] as const) {
      if (!env[name])
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'is not set (required with COFFER_BACKUP_STORE=swift)',
        });
    }
  });

export type WorkerEnv = z.infer<typeof workerEnvSchema>;
export type WorkerEnvName = keyof z.input<typeof workerEnvSchema>;
/** Overrides of the environment (same names as the variables), e.g. for tests. */
export type WorkerEnvOverrides = Partial<Record<WorkerEnvName, string | number | undefined>>;

export class WorkerEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerEnvError';
  }
}

/**
 * Parses the environment (process.env, with `overrides` on top). Throws a WorkerEnvError that
 * names every bad variable and what it must be.
 */
export function loadWorkerEnv(overrides: WorkerEnvOverrides = {}): WorkerEnv {
  const source: Record<string, unknown> = { ...process.env };
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined) source[name] = value;
  }
  const parsed = parseSettings(workerEnvSchema, source);
  if (!parsed.ok) {
    throw new WorkerEnvError(
      `invalid worker configuration (see apps/worker/README.md, "Settings"):\n${parsed.problems.join('\n')}`,
    );
  }
  return parsed.data;
}
