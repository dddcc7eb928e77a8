import { z } from 'zod';

import { backupGuestMethods, restoreSpecSchema } from './backup';
import { configurationGuestMethods } from './configuration/apply';
import { type CofferErrorJSON } from './errors';
import { logGuestMethods } from './logs';
import { replicationGuestMethods } from './replication';
import { resizeGuestMethods } from './resize';
import { sealedSecretSchema } from './sealed';
import { serviceStatusSchema } from './status';
import {
  databaseNameSchema,
  databaseSpecSchema,
  initialDatabaseSchema,
  userHostSchema,
  userNameSchema,
} from './validation';

/**
 * The guest agent's RPC (Trove's guestagent API). The taskmanager adds a BullMQ job to the
 * guest's own queue `guest-<instanceId>`; the job's name is the method and its data a
 * {@link GuestRpcEnvelope}: the JSON body and its HMAC made with the guest's signing key, so
 * a guest only obeys its control plane, each signed request once and before it expires. *cast* adds the job; *call* also waits for its
 * result, with a timeout. The guest re-parses params, and the caller re-parses results.
 */

export function guestQueueName(instanceId: string): string {
  return `guest-${instanceId}`;
}

/** A user to create at prepare time: the password sealed with the guest's sealing key, associated data `user:<name>`. */
export const guestUserSpecSchema = z.object({
  name: userNameSchema,
  host: userHostSchema,
  password: sealedSecretSchema,
  databases: z.array(databaseNameSchema),
});
export type GuestUserSpec = z.infer<typeof guestUserSpecSchema>;

/** A database as a guest reports it (names are the server's: shown, never trusted as input). */
export const databaseInfoSchema = z.object({
  name: z.string(),
  characterSet: z.string(),
  collation: z.string(),
});
export type DatabaseInfo = z.infer<typeof databaseInfoSchema>;

/** A tenant's account as a guest reports it, with the databases it has access to. */
export const databaseUserInfoSchema = z.object({
  name: z.string(),
  host: z.string(),
  databases: z.array(z.string()),
});
export type DatabaseUserInfo = z.infer<typeof databaseUserInfoSchema>;

/** Names one account: `'name'@'host'`. */
export const accountSchema = z.object({ name: userNameSchema, host: userHostSchema });
export type Account = z.infer<typeof accountSchema>;

/**
 * How a guest refuses a method for a reason its caller can fix (the database exists, the
 * user is not there): a `CofferError` (errors.ts) with one of these codes, which the job's failure
 * reason carries (`encodeFailureReason`). Any other failure is the guest's own trouble.
 */
export const GUEST_FAILURE_CODES = ['BAD_REQUEST', 'NOT_FOUND', 'CONFLICT'] as const;
export type GuestFailureCode = (typeof GUEST_FAILURE_CODES)[number];
export type GuestFailure = CofferErrorJSON<GuestFailureCode>;

export function isGuestFailure(failure: CofferErrorJSON): failure is GuestFailure {
  return (GUEST_FAILURE_CODES as readonly string[]).includes(failure.code);
}

export const configValueSchema = z.union([z.string(), z.number(), z.boolean()]);

export const guestMethods = {
  /** Backups (backup.ts): create_backup. */
  ...backupGuestMethods,
  /** Replication (replication.ts): status, accounts, attach, read-only, wait, stop. */
  ...replicationGuestMethods,
  /** Resize (resize.ts): apply_flavor, volume_usage. */
  ...resizeGuestMethods,
  /** Configuration groups (configuration/apply.ts): apply_configuration. */
  ...configurationGuestMethods,
  /** Database logs (logs.ts): list, switch, show, download, publish. */
  ...logGuestMethods,
  /** Installs the server into the volume, writes its config from the flavor, starts it, creates the first databases and users. */
  prepare: {
    params: z.object({
      memoryMb: z.number().int().positive(),
      vcpus: z.number().int().positive(),
      databases: z.array(initialDatabaseSchema),
      users: z.array(guestUserSpecSchema),
      configOverrides: z.record(z.string(), configValueSchema).default({}),
      /** Fill the volume from a backup (chain) instead of an empty datadir. */
      restore: restoreSpecSchema.optional(),
      /** Start the server read-only (a replica): kept in its config, so a restart keeps it. */
      isReadOnly: z.boolean().default(false),
    }),
    result: z.object({ serverVersion: z.string() }),
  },
  /** Restarts the database server (Trove's restart). */
  restart: {
    params: z.object({}),
    result: z.object({}),
  },
  /** Stops the database server cleanly (before the server is deleted). */
  stop_db: {
    params: z.object({}),
    result: z.object({}),
  },
  /** The service status right now, found as the heartbeat finds it. */
  get_status: {
    params: z.object({}),
    result: z.object({ serviceStatus: serviceStatusSchema, serverVersion: z.string().nullable() }),
  },
  /** The tenant's databases (system schemas left out), by name (Trove's list_databases). */
  list_databases: {
    params: z.object({}),
    result: z.object({ databases: z.array(databaseInfoSchema) }),
  },
  /** Creates one database; CONFLICT when it exists. */
  create_database: {
    params: databaseSpecSchema,
    result: z.object({ database: databaseInfoSchema }),
  },
  /** Drops one database; NOT_FOUND when there is none. */
  delete_database: {
    params: z.object({ name: databaseNameSchema }),
    result: z.object({}),
  },
  /** The tenant's accounts with their databases; root, the guest's own account and system accounts left out. */
  list_users: {
    params: z.object({}),
    result: z.object({ users: z.array(databaseUserInfoSchema) }),
  },
  /** Creates an account (password sealed, associated data `user:<name>`) with access to existing databases; CONFLICT when it exists. */
  create_user: {
    params: guestUserSpecSchema,
    result: z.object({ user: databaseUserInfoSchema }),
  },
  /** Changes an account's host (its grants move with it) and/or password (sealed, `user:<name>`) (Trove's update_attributes). */
  update_user: {
    params: accountSchema
      .extend({ newHost: userHostSchema.optional(), newPassword: sealedSecretSchema.optional() })
      .refine((params) => params.newHost !== undefined || params.newPassword !== undefined, {
        message: 'nothing to change',
      }),
    result: z.object({ user: databaseUserInfoSchema }),
  },
  /** Drops an account; NOT_FOUND when there is none. */
  delete_user: {
    params: accountSchema,
    result: z.object({}),
  },
  /** The databases an account has access to (Trove's list_access). */
  list_access: {
    params: accountSchema,
    result: z.object({ databases: z.array(z.string()) }),
  },
  /** Grants an account everything on each of the (existing) databases. */
  grant_access: {
    params: accountSchema.extend({ databases: z.array(databaseNameSchema).min(1).max(100) }),
    result: z.object({ databases: z.array(z.string()) }),
  },
  /** Revokes an account's access to one database; NOT_FOUND when it had none. */
  revoke_access: {
    params: accountSchema.extend({ database: databaseNameSchema }),
    result: z.object({ databases: z.array(z.string()) }),
  },
  /**
   * Creates `root`@`%` with every privilege, or sets its password when it exists. The password
   * is generated by the control plane and sealed (associated data `user:root`); it never comes back.
   */
  enable_root: {
    params: z.object({ password: sealedSecretSchema }),
    result: z.object({}),
  },
  /** Drops every remote root account: root is `root`@`localhost` by unix_socket only again. */
  disable_root: {
    params: z.object({}),
    result: z.object({}),
  },
} as const;

export type GuestMethod = keyof typeof guestMethods;
export type GuestParams<M extends GuestMethod> = z.input<(typeof guestMethods)[M]['params']>;
export type GuestResult<M extends GuestMethod> = z.infer<(typeof guestMethods)[M]['result']>;

/** The longest a signed guest request stays valid (its `expiresAt` after its `sentAt`). */
export const GUEST_RPC_MAX_TTL_MS = 7 * 24 * 3600_000;

/**
 * What the body of a guest RPC job holds (serialized as JSON, then signed). `requestId` is
 * unique per request and `expiresAt` bounds it, both signed: the guest runs a request only
 * before it expires (by Redis's clock, which is the control plane's, not the guest's) and only
 * for the first job that carries it, so an old signed body added again as a new job is
 * refused (apps/guest README, "RPC").
 */
export const guestRpcBodySchema = z
  .object({
    instanceId: z.uuid(),
    method: z.string(),
    params: z.unknown(),
    requestId: z.uuid(),
    /** Milliseconds since 1970, on the control plane's clock. */
    sentAt: z.number().int().nonnegative(),
    /** After this (milliseconds since 1970, Redis's clock) the guest refuses the request. */
    expiresAt: z.number().int().nonnegative(),
  })
  .refine(
    (body) => body.expiresAt > body.sentAt && body.expiresAt - body.sentAt <= GUEST_RPC_MAX_TTL_MS,
    { message: 'expiresAt must be after sentAt, by at most 7 days', path: ['expiresAt'] },
  );
export type GuestRpcBody = z.infer<typeof guestRpcBodySchema>;

export const guestRpcEnvelopeSchema = z.object({
  body: z.string(),
  signature: z.string(),
});
export type GuestRpcEnvelope = z.infer<typeof guestRpcEnvelopeSchema>;
