import { type TaskmanagerJobName, type TaskmanagerJobPayload } from '@coffer/contracts';

/**
 * Hands a job to the taskmanager: the web app's queue, the worker's (the watchdog), or a
 * test's. The domain functions take it as a callback, so they know no queue.
 */
export type EnqueueTaskmanagerJob = <N extends TaskmanagerJobName>(
  name: N,
  resourceId: string,
  payload: TaskmanagerJobPayload<N>,
) => Promise<unknown>;

/** How long a transaction that takes a project's lock may wait for it and run (creates of one project queue there). */
export const PROJECT_LOCK_TRANSACTION = { maxWait: 15_000, timeout: 20_000 } as const;

/** A row's name with the minute it was made in: `full 2026-12-05 09:41`. */
export function stampedName(label: string, at: Date): string {
  return `${label} ${at.toISOString().slice(0, 16).replace('T', ' ')}`;
}
