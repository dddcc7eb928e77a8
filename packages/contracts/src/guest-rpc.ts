import { z } from 'zod';

import { sealedSecretSchema } from './sealed';
import { serviceStatusSchema } from './status';
import { databaseNameSchema, initialDatabaseSchema, userHostSchema, userNameSchema } from './validation';

/**
 * The guest agent's RPC (Trove's guestagent API). The taskmanager adds a BullMQ job to the
 * guest's own queue `guest-<instanceId>`; the job's name is the method and its data a
 * {@link GuestRpcEnvelope}: the JSON body and its HMAC made with the guest's signing key, so
 * a guest only obeys its control plane. *cast* adds the job; *call* also waits for its
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

export const configValueSchema = z.union([z.string(), z.number(), z.boolean()]);

export const guestMethods = {
  /** Installs the server into the volume, writes its config from the flavor, starts it, creates the first databases and users. */
  prepare: {
    params: z.object({
      memoryMb: z.number().int().positive(),
      vcpus: z.number().int().positive(),
      databases: z.array(initialDatabaseSchema),
      users: z.array(guestUserSpecSchema),
      configOverrides: z.record(z.string(), configValueSchema).default({}),
    }),
    result: z.object({ mariadbVersion: z.string() }),
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
    result: z.object({ serviceStatus: serviceStatusSchema, mariadbVersion: z.string().nullable() }),
  },
} as const;

export type GuestMethod = keyof typeof guestMethods;
export type GuestParams<M extends GuestMethod> = z.input<(typeof guestMethods)[M]['params']>;
export type GuestResult<M extends GuestMethod> = z.infer<(typeof guestMethods)[M]['result']>;

/** What the body of a guest RPC job holds (serialized as JSON, then signed). */
export const guestRpcBodySchema = z.object({
  instanceId: z.uuid(),
  method: z.string(),
  params: z.unknown(),
  requestId: z.string().min(1),
  sentAt: z.number().int(),
});
export type GuestRpcBody = z.infer<typeof guestRpcBodySchema>;

export const guestRpcEnvelopeSchema = z.object({
  body: z.string(),
  signature: z.string(),
});
export type GuestRpcEnvelope = z.infer<typeof guestRpcEnvelopeSchema>;
