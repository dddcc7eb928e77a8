import { z } from 'zod';

import { sealedSecretSchema } from './sealed';
import { initialDatabaseSchema, userHostSchema, userNameSchema, databaseNameSchema } from './validation';

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
});
export type InstanceCreateJob = z.infer<typeof instanceCreateJobSchema>;

export const instanceRestartJobSchema = z.object({ instanceId: z.uuid() });
export type InstanceRestartJob = z.infer<typeof instanceRestartJobSchema>;

export const instanceDeleteJobSchema = z.object({ instanceId: z.uuid() });
export type InstanceDeleteJob = z.infer<typeof instanceDeleteJobSchema>;

export interface JobDefinition<S extends z.ZodType> {
  schema: S;
  /** Attempts before the job fails for good (transient errors are retried with backoff). */
  attempts: number;
  /** How long one attempt may take before it is abandoned. */
  timeoutMs: number;
}

export const taskmanagerJobs = {
  'instance.create': { schema: instanceCreateJobSchema, attempts: 3, timeoutMs: 10 * 60_000 },
  'instance.restart': { schema: instanceRestartJobSchema, attempts: 3, timeoutMs: 5 * 60_000 },
  'instance.delete': { schema: instanceDeleteJobSchema, attempts: 5, timeoutMs: 5 * 60_000 },
} as const satisfies Record<string, JobDefinition<z.ZodType>>;

export type TaskmanagerJobName = keyof typeof taskmanagerJobs;
export type TaskmanagerJobPayload<N extends TaskmanagerJobName> = z.input<(typeof taskmanagerJobs)[N]['schema']>;

/**
 * The deterministic BullMQ job id of an operation on a resource, e.g.
 * `instance.create-<instanceId>`: adding the same job twice is one job.
 */
export function taskmanagerJobId(name: TaskmanagerJobName, resourceId: string): string {
  return `${name}-${resourceId}`;
}
