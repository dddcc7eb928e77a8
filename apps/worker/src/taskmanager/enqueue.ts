import {
  taskmanagerJobId,
  taskmanagerJobs,
  type TaskmanagerJobName,
  type TaskmanagerJobPayload,
} from '@coffer/contracts';
import { type JobsOptions, type Queue } from 'bullmq';

/**
 * Adds a taskmanager job the way the web app does (deterministic id, the catalog's attempts,
 * exponential backoff), for the worker's own follow-ups (the watchdog retrying a delete).
 */
export function taskmanagerJobOptions(name: TaskmanagerJobName, resourceId: string): JobsOptions {
  return {
    jobId: taskmanagerJobId(name, resourceId),
    attempts: taskmanagerJobs[name].attempts,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export async function enqueueTaskmanagerJob<N extends TaskmanagerJobName>(
  queue: Queue,
  name: N,
  resourceId: string,
  payload: TaskmanagerJobPayload<N>,
): Promise<void> {
  const data: unknown = taskmanagerJobs[name].schema.parse(payload);
  await queue.add(name, data, taskmanagerJobOptions(name, resourceId));
}

/** States in which a job will still run (or runs now). */
export const LIVE_JOB_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
]);
