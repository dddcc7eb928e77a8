import {
  taskmanagerJobOptions,
  taskmanagerJobs,
  type TaskmanagerJobName,
  type TaskmanagerJobPayload,
} from '@coffer/contracts';
import { type Queue } from 'bullmq';

/**
 * Adds a taskmanager job as the web app does (the contracts' options: deterministic id, the
 * job's retries and retention), for the worker's own follow-ups (the watchdog retrying a delete).
 */
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
