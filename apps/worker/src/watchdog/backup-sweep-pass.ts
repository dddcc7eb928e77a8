import { taskmanagerJobId } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { type EnqueueTaskmanagerJob } from '@coffer/db/domain/jobs';
import { type Queue } from 'bullmq';

import { type ChangePublisher } from '../events';
import { type Logger } from '../logger';
import { type WorkerSettings } from '../settings';
import { enqueueTaskmanagerJob } from '../taskmanager/enqueue';

/** What every backup sweep works with, and what one pass of them all shares. */

export interface BackupSweepDeps {
  prisma: PrismaClient;
  queue: Queue;
  publisher: ChangePublisher;
  settings: WorkerSettings;
  logger: Logger;
}

export interface BackupSweepReport {
  scheduled: string[];
  postponed: string[];
  expired: string[];
  requeuedCreates: string[];
  failedOrphans: string[];
  endedTasks: string[];
  requeuedDeletes: string[];
}

export function emptyBackupSweepReport(): BackupSweepReport {
  return {
    scheduled: [],
    postponed: [],
    expired: [],
    requeuedCreates: [],
    failedOrphans: [],
    endedTasks: [],
    requeuedDeletes: [],
  };
}

/** One pass: its time, what it did, and whether a suspect has been seen for a grace (a request in flight is left alone). */
export interface BackupSweepPass {
  now: Date;
  report: BackupSweepReport;
  isSuspect(key: string): boolean;
}

export type BackupSweep = (deps: BackupSweepDeps, pass: BackupSweepPass) => Promise<void>;

/** The domain functions' enqueue, on the watchdog's queue. */
export function enqueueOn(queue: Queue): EnqueueTaskmanagerJob {
  return (name, resourceId, payload) => enqueueTaskmanagerJob(queue, name, resourceId, payload);
}

export async function jobState(
  queue: Queue,
  name: 'backup.create' | 'backup.delete',
  id: string,
): Promise<string> {
  const job = await queue.getJob(taskmanagerJobId(name, id));
  return job ? await job.getState() : 'missing';
}

/** Removes a job that will not run again (failed, or finished and kept), so one with its id can be added. */
export async function removeJob(
  queue: Queue,
  name: 'backup.create' | 'backup.delete',
  id: string,
): Promise<void> {
  const old = await queue.getJob(taskmanagerJobId(name, id));
  if (old) await old.remove().catch(() => undefined);
}
