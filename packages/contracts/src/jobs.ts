import { z } from 'zod';

import { instanceSetAccessJobSchema } from './allowed-sources';
import { configurationApplyJobSchema, effectiveConfigurationSchema } from './configuration/apply';
import { cofferErrorJSONSchema, type CofferErrorJSON } from './errors';
import { databaseInfoSchema, databaseUserInfoSchema } from './guest-rpc';
import {
  logDownloadResultSchema,
  logInfoSchema,
  logNameSchema,
  logSetFieldsSchema,
  logShowParamsSchema,
  logShowResultSchema,
  projectPublishedLogSchema,
  publishedLogSchema,
} from './logs';
import { instanceResizeJobSchema } from './resize';
import { sealedSecretSchema } from './sealed';
import {
  databaseNameSchema,
  databaseSpecSchema,
  initialDatabaseSchema,
  userHostSchema,
  userNameSchema,
} from './validation';

/**
 * The taskmanager's work catalog: one BullMQ queue, one job name per operation, a zod schema
 * per payload. The web app adds jobs with {@link taskmanagerJobId} so a double submit is one
 * job; the worker re-parses every payload before it acts.
 */
export const TASKMANAGER_QUEUE = 'taskmanager';

/** An initial user: its password is sealed with the job-payload key (associated data `user:<name>`). */
export const initialUserJobSchema = z.object({
  name: userNameSchema,
  host: userHostSchema.default('%'),
  password: sealedSecretSchema,
  databases: z.array(databaseNameSchema).default([]),
});

export const instanceCreateJobSchema = z.object({
  instanceId: z.uuid(),
  databases: z.array(initialDatabaseSchema).default([]),
  users: z.array(initialUserJobSchema).default([]),
  /** Fill the new instance from this backup (of the same project; its chain is applied in order) instead of an empty datadir. */
  restoreFromBackupId: z.uuid().optional(),
});
export type InstanceCreateJob = z.infer<typeof instanceCreateJobSchema>;

export const instanceRestartJobSchema = z.object({ instanceId: z.uuid() });
export type InstanceRestartJob = z.infer<typeof instanceRestartJobSchema>;

export const instanceDeleteJobSchema = z.object({ instanceId: z.uuid() });
export type InstanceDeleteJob = z.infer<typeof instanceDeleteJobSchema>;

/** Makes one backup of an instance (the instance id is the source's: its task is BACKING_UP meanwhile). */
export const backupCreateJobSchema = z.object({ backupId: z.uuid(), instanceId: z.uuid() });
export type BackupCreateJob = z.infer<typeof backupCreateJobSchema>;

/**
 * Removes backups (rows DELETING) and their objects, in the order given (dependents first).
 * Its job id ends with the first backup's id, which failures are recorded against.
 */
export const backupDeleteJobSchema = z.object({ backupIds: z.array(z.uuid()).min(1).max(10_000) });
export type BackupDeleteJob = z.infer<typeof backupDeleteJobSchema>;

/**
 * Replication (replication.ts). Creating replicas needs no job of its own: the web app writes
 * the source's snapshot backup and the replicas' rows, and queues `backup.create` for the
 * snapshot and `instance.create` for each replica, which waits for the snapshot, restores it
 * and attaches the new server to its source. The three topology changes each have a job,
 * keyed by the instance named here (their job ids end with it):
 * - `replica.promote`: this replica becomes the source while its source is alive (task
 *   PROMOTING on the replica, its source and its siblings);
 * - `replica.eject`: this source is gone: its most advanced replica takes over (EJECTING);
 * - `replica.detach`: this replica becomes a standalone, writable instance (DETACHING).
 */
export const replicaPromoteJobSchema = z.object({ instanceId: z.uuid() });
export type ReplicaPromoteJob = z.infer<typeof replicaPromoteJobSchema>;

export const replicaEjectJobSchema = z.object({ instanceId: z.uuid() });
export type ReplicaEjectJob = z.infer<typeof replicaEjectJobSchema>;

export const replicaDetachJobSchema = z.object({ instanceId: z.uuid() });
export type ReplicaDetachJob = z.infer<typeof replicaDetachJobSchema>;

/**
 * How BullMQ retries and keeps a job: what the web app and the worker both add it with (the
 * shape of BullMQ's JobsOptions, which this package does not import).
 */
export interface JobQueueOptions {
  /** Attempts before the job fails for good (transient errors are retried with backoff). */
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  /** true: removed once done; `{ age }`: kept that many seconds. */
  removeOnComplete: boolean | { age: number };
  removeOnFail: boolean | { age: number };
}

export interface JobDefinition<S extends z.ZodType> extends JobQueueOptions {
  schema: S;
  /** How long one attempt may take before it is abandoned. */
  timeoutMs: number;
}

/**
 * An operation's steps are idempotent, so a failed attempt is retried with backoff. A done job
 * leaves at once (its row holds the outcome); a failed one stays a week for operators (Admin).
 */
const OPERATION_RETRIES = {
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export const taskmanagerJobs = {
  // Long enough for a replica, which first waits for its source's snapshot (a backup), then
  // restores it; the build itself is bounded by COFFER_CREATE_TIMEOUT_SECONDS.
  'instance.create': {
    schema: instanceCreateJobSchema,
    attempts: 3,
    timeoutMs: 6 * 3600_000,
    ...OPERATION_RETRIES,
  },
  'instance.restart': {
    schema: instanceRestartJobSchema,
    attempts: 3,
    timeoutMs: 5 * 60_000,
    ...OPERATION_RETRIES,
  },
  'instance.delete': {
    schema: instanceDeleteJobSchema,
    attempts: 5,
    timeoutMs: 5 * 60_000,
    ...OPERATION_RETRIES,
  },
  'backup.create': {
    schema: backupCreateJobSchema,
    attempts: 3,
    timeoutMs: 12 * 3600_000,
    ...OPERATION_RETRIES,
  },
  'backup.delete': {
    schema: backupDeleteJobSchema,
    attempts: 5,
    timeoutMs: 30 * 60_000,
    ...OPERATION_RETRIES,
  },
  'replica.promote': {
    schema: replicaPromoteJobSchema,
    attempts: 3,
    timeoutMs: 30 * 60_000,
    ...OPERATION_RETRIES,
  },
  'replica.eject': {
    schema: replicaEjectJobSchema,
    attempts: 3,
    timeoutMs: 30 * 60_000,
    ...OPERATION_RETRIES,
  },
  'replica.detach': {
    schema: replicaDetachJobSchema,
    attempts: 3,
    timeoutMs: 10 * 60_000,
    ...OPERATION_RETRIES,
  },
  // Allowed sources (allowed-sources.ts): the row's, onto the server's firewall.
  'instance.setAccess': {
    schema: instanceSetAccessJobSchema,
    attempts: 5,
    timeoutMs: 5 * 60_000,
    ...OPERATION_RETRIES,
  },
  // Resize (resize.ts): a flavor's restart, or a volume's grow; a failure rolls back.
  'instance.resize': {
    schema: instanceResizeJobSchema,
    attempts: 2,
    timeoutMs: 15 * 60_000,
    ...OPERATION_RETRIES,
  },
  // Configuration groups (configuration/apply.ts): the instance's values onto its server.
  'configuration.apply': {
    schema: configurationApplyJobSchema,
    attempts: 3,
    timeoutMs: 5 * 60_000,
    ...OPERATION_RETRIES,
  },
} as const satisfies Record<string, JobDefinition<z.ZodType>>;

export type TaskmanagerJobName = keyof typeof taskmanagerJobs;
export type TaskmanagerJobPayload<N extends TaskmanagerJobName> = z.input<
  (typeof taskmanagerJobs)[N]['schema']
>;

/**
 * The deterministic BullMQ job id of an operation on a resource, e.g.
 * `instance.create-<instanceId>`: adding the same job twice is one job.
 */
export function taskmanagerJobId(name: TaskmanagerJobName, resourceId: string): string {
  return `${name}-${resourceId}`;
}

/** The options an operation is added with (web app and worker alike): its id, retries and retention. */
export function taskmanagerJobOptions(
  name: TaskmanagerJobName,
  resourceId: string,
): JobQueueOptions & { jobId: string } {
  const { attempts, backoff, removeOnComplete, removeOnFail } = taskmanagerJobs[name];
  return {
    jobId: taskmanagerJobId(name, resourceId),
    attempts,
    backoff,
    removeOnComplete,
    removeOnFail,
  };
}

/**
 * Calls: taskmanager jobs whose answer someone waits for (Trove's RPC call, as opposed to
 * the casts above). The web app adds the job with a unique id ({@link taskmanagerCallJobId}:
 * these are not idempotent per resource) and waits for its result with a timeout; the worker
 * performs one guest call and completes the job with a {@link TaskmanagerCallResult}, whose
 * failure (a `CofferError`'s JSON form, errors.ts) says in the tenant's words what went wrong.
 * Results never carry a password.
 * Attempts: one (the caller is waiting, and a repeated mutation could do something twice).
 */
export const callFailureSchema = cofferErrorJSONSchema;
export type CallFailure = CofferErrorJSON;

const instanceRef = { instanceId: z.uuid() };
const accountRef = { ...instanceRef, name: userNameSchema, host: userHostSchema };
const accessResult = z.object({ databases: z.array(z.string()) });

export interface CallDefinition<S extends z.ZodType, R extends z.ZodType> extends JobQueueOptions {
  schema: S;
  /** What a successful call returns. */
  result: R;
  /** How long the worker may take over it (the guest call included). */
  timeoutMs: number;
}

/**
 * Every call: a minute for the worker; one attempt; the answer waits in Redis at most a minute
 * for its caller (who removes it as soon as it has read it), a failure a day.
 */
const CALL = {
  timeoutMs: 60_000,
  attempts: 1,
  removeOnComplete: { age: 60 },
  removeOnFail: { age: 24 * 3600 },
} as const;

export const taskmanagerCalls = {
  'database.list': {
    schema: z.object(instanceRef),
    result: z.object({ databases: z.array(databaseInfoSchema) }),
    ...CALL,
  },
  'database.create': {
    schema: z.object({ ...instanceRef, database: databaseSpecSchema }),
    result: z.object({ database: databaseInfoSchema }),
    ...CALL,
  },
  'database.delete': {
    schema: z.object({ ...instanceRef, name: databaseNameSchema }),
    result: z.object({}),
    ...CALL,
  },
  'user.list': {
    schema: z.object(instanceRef),
    result: z.object({ users: z.array(databaseUserInfoSchema) }),
    ...CALL,
  },
  /** The password sealed with the job-payload key, associated data `user:<name>`. */
  'user.create': {
    schema: z.object({ ...instanceRef, user: initialUserJobSchema }),
    result: z.object({ user: databaseUserInfoSchema }),
    ...CALL,
  },
  /** A new host and/or a new password (sealed with the job-payload key, associated data `user:<name>`). */
  'user.update': {
    schema: z
      .object({
        ...accountRef,
        newHost: userHostSchema.optional(),
        newPassword: sealedSecretSchema.optional(),
      })
      .refine((payload) => payload.newHost !== undefined || payload.newPassword !== undefined, {
        message: 'nothing to change',
      }),
    result: z.object({ user: databaseUserInfoSchema }),
    ...CALL,
  },
  'user.delete': { schema: z.object(accountRef), result: z.object({}), ...CALL },
  'access.list': { schema: z.object(accountRef), result: accessResult, ...CALL },
  'access.grant': {
    schema: z.object({ ...accountRef, databases: z.array(databaseNameSchema).min(1).max(100) }),
    result: accessResult,
    ...CALL,
  },
  'access.revoke': {
    schema: z.object({ ...accountRef, database: databaseNameSchema }),
    result: accessResult,
    ...CALL,
  },
  /** The password generated by the web app, sealed with the job-payload key, associated data `user:root`. */
  'root.enable': {
    schema: z.object({ ...instanceRef, password: sealedSecretSchema }),
    result: z.object({}),
    ...CALL,
  },
  'root.disable': { schema: z.object(instanceRef), result: z.object({}), ...CALL },
  /** Every configuration parameter in force on an instance, with its source (configuration/apply.ts). */
  'configuration.effective': {
    schema: z.object(instanceRef),
    result: effectiveConfigurationSchema,
    ...CALL,
  },
  /** Database logs (logs.ts): what the guest has, switches, tails, downloads and publishes. */
  'log.list': {
    schema: z.object(instanceRef),
    result: z.object({ logs: z.array(logInfoSchema) }),
    ...CALL,
  },
  'log.set': {
    schema: logSetFieldsSchema.extend(instanceRef),
    result: z.object({ log: logInfoSchema }),
    ...CALL,
  },
  'log.show': {
    schema: logShowParamsSchema.extend(instanceRef),
    result: logShowResultSchema,
    ...CALL,
  },
  'log.download': {
    schema: z.object({ ...instanceRef, name: logNameSchema }),
    result: logDownloadResultSchema,
    ...CALL,
  },
  /** Copies a log to the object store, sealed with the project's backup key. */
  'log.publish': {
    schema: z.object({
      ...instanceRef,
      name: logNameSchema,
      instanceName: z.string().max(255).optional(),
    }),
    result: publishedLogSchema,
    ...CALL,
  },
  /** The instance's published logs, newest first (read from the object store by the worker). */
  'log.published': {
    schema: z.object(instanceRef),
    result: z.object({ published: z.array(publishedLogSchema) }),
    ...CALL,
  },
  /** A project's published logs, its deleted instances' too (the object store by prefix). */
  'log.projectPublished': {
    schema: z.object({ projectId: z.uuid() }),
    result: z.object({ published: z.array(projectPublishedLogSchema) }),
    ...CALL,
  },
  /** A published log opened by the worker with the project's backup key (no guest needed). */
  'log.openPublished': {
    schema: z.object({ projectId: z.uuid(), object: z.string().min(1).max(500) }),
    result: z.object({ published: publishedLogSchema, text: z.string() }),
    ...CALL,
  },
} as const satisfies Record<string, CallDefinition<z.ZodType, z.ZodType>>;

export type TaskmanagerCallName = keyof typeof taskmanagerCalls;
export type TaskmanagerCallPayload<N extends TaskmanagerCallName> = z.input<
  (typeof taskmanagerCalls)[N]['schema']
>;
export type TaskmanagerCallValue<N extends TaskmanagerCallName> = z.infer<
  (typeof taskmanagerCalls)[N]['result']
>;

/** What a call job completes with: the value, or why it failed. */
export type TaskmanagerCallResult<N extends TaskmanagerCallName> =
  { ok: true; value: TaskmanagerCallValue<N> } | { ok: false; failure: CallFailure };

export function isTaskmanagerCallName(name: string): name is TaskmanagerCallName {
  return Object.hasOwn(taskmanagerCalls, name);
}

/** The schema of a call's completed result, for the one who waits to re-parse it. */
export function callResultSchema<N extends TaskmanagerCallName>(name: N) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value: taskmanagerCalls[name].result }),
    z.object({ ok: z.literal(false), failure: callFailureSchema }),
  ]);
}

/** A call's job id: unique per call (`database.list-<instanceId>-<nonce>`), so concurrent calls never collide. */
export function taskmanagerCallJobId(
  name: TaskmanagerCallName,
  instanceId: string,
  nonce: string,
): string {
  return `${name}-${instanceId}-${nonce}`;
}

/** The options a call is added with: its own id, one attempt, and how long its answer is kept. */
export function taskmanagerCallOptions(
  name: TaskmanagerCallName,
  instanceId: string,
  nonce: string,
): JobQueueOptions & { jobId: string } {
  const { attempts, removeOnComplete, removeOnFail } = taskmanagerCalls[name];
  return {
    jobId: taskmanagerCallJobId(name, instanceId, nonce),
    attempts,
    removeOnComplete,
    removeOnFail,
  };
}
