import {
  isTaskmanagerCallName,
  TASKMANAGER_QUEUE,
  taskmanagerJobs,
  type TaskmanagerCallName,
  type TaskmanagerCallResult,
  type TaskmanagerJobName,
} from '@coffer/contracts';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { type Redis } from 'ioredis';
import { z } from 'zod';

import { AbortedError } from '../events';
import { applyConfigurationOperation } from './apply-configuration';
import { createBackupOperation } from './create-backup';
import { createInstanceOperation } from './create-instance';
import { deleteBackupOperation } from './delete-backup';
import { deleteInstanceOperation } from './delete-instance';
import { detachReplicaOperation } from './detach-replica';
import { ejectSourceOperation } from './eject-source';
import { runCall } from './guest-calls';
import { promoteReplicaOperation } from './promote-replica';
import { resizeInstanceOperation } from './resize-instance';
import { restartInstanceOperation } from './restart-instance';
import { setAccessOperation } from './set-access';
import {
  OperationFailure,
  type Fault,
  type Operation,
  type OperationContext,
  type OperationResult,
} from './operation';

/**
 * The taskmanager (Trove's trove-taskmanager): one BullMQ worker on the `taskmanager` queue.
 * Every payload is parsed again with its catalog schema. Outcomes:
 * - done / skipped: the job completes;
 * - a failure for good (an OperationFailure, or a transient error on the last attempt): the
 *   fault is recorded on the instance and the job completes (the row is the truth, and the
 *   job id is free for the tenant's next try);
 * - a transient error before the last attempt: the job fails and BullMQ retries it with the
 *   backoff the web app set;
 * - a payload that does not parse: UnrecoverableError;
 * - shutdown: the job goes back to waiting at its next step boundary, for the next worker.
 * Calls (databases, users, root: `taskmanagerCalls`) complete with their answer, or with the
 * reason they failed, for the caller who waits (guest-calls.ts); they are never retried.
 */

const operations: {
  [N in TaskmanagerJobName]: Operation<z.infer<(typeof taskmanagerJobs)[N]['schema']>>;
} = {
  'instance.create': createInstanceOperation,
  'instance.restart': restartInstanceOperation,
  'instance.delete': deleteInstanceOperation,
  'backup.create': createBackupOperation,
  'backup.delete': deleteBackupOperation,
  'replica.promote': promoteReplicaOperation,
  'replica.eject': ejectSourceOperation,
  'replica.detach': detachReplicaOperation,
  'instance.resize': resizeInstanceOperation,
  'instance.setAccess': setAccessOperation,
  'configuration.apply': applyConfigurationOperation,
};

function isJobName(name: string): name is TaskmanagerJobName {
  return Object.hasOwn(taskmanagerJobs, name);
}

/** The instance a job is about, even when its payload does not parse (the job id ends with it). */
function instanceIdOf(job: Job): string | null {
  const fromData = z.object({ instanceId: z.uuid() }).safeParse(job.data);
  if (fromData.success) return fromData.data.instanceId;
  const fromId = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(
    job.id ?? '',
  );
  return fromId?.[1] ?? null;
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type TaskmanagerDeps = Omit<OperationContext, 'signal' | 'logger'> & {
  logger: OperationContext['logger'];
  /** A connection BullMQ's worker may block on (maxRetriesPerRequest: null); the taskmanager owns it. */
  workerConnection: Redis;
};

export class Taskmanager {
  private worker: Worker | null = null;
  private readonly shutdown = new AbortController();

  constructor(private readonly deps: TaskmanagerDeps) {}

  async start(): Promise<void> {
    const { settings, workerConnection, logger } = this.deps;
    const { tuning } = settings;
    const worker = new Worker(
      TASKMANAGER_QUEUE,
      (job, token) =>
        isTaskmanagerCallName(job.name)
          ? this.processCall(job, job.name)
          : this.process(job, token),
      {
        connection: workerConnection,
        prefix: settings.queuePrefix,
        concurrency: tuning.taskmanagerConcurrency,
        lockDuration: tuning.jobLockDurationMs,
        stalledInterval: tuning.stalledIntervalMs,
        maxStalledCount: tuning.maxStalledCount,
        autorun: false,
      },
    );
    worker.on('error', (error) => logger.warn({ err: error }, 'taskmanager worker error'));
    worker.on('stalled', (jobId) =>
      logger.warn({ jobId }, 'a job was stalled (its worker died): it runs again'),
    );
    worker.on('failed', (job, error) => {
      logger.warn(
        { jobId: job?.id, job: job?.name, err: error, attemptsMade: job?.attemptsMade },
        'job attempt failed',
      );
    });
    this.worker = worker;
    void worker
      .run()
      .catch((error: unknown) => logger.error({ err: error }, 'taskmanager worker stopped'));
    await worker.waitUntilReady();
    logger.info(
      {
        queue: TASKMANAGER_QUEUE,
        prefix: settings.queuePrefix,
        concurrency: tuning.taskmanagerConcurrency,
      },
      'taskmanager started',
    );
  }

  /** Running jobs stop at their next step boundary and go back to waiting; then the worker closes. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.shutdown.abort(new Error('the worker is shutting down'));
    await worker.close();
  }

  /** A call (databases, users, root): one guest call whose result someone waits for (guest-calls.ts). */
  private processCall(
    job: Job,
    name: TaskmanagerCallName,
  ): Promise<TaskmanagerCallResult<TaskmanagerCallName>> {
    const logger = this.deps.logger.child({
      jobId: job.id,
      job: name,
      instanceId: instanceIdOf(job),
    });
    return runCall({ ...this.deps, logger }, job, name);
  }

  private async process(job: Job, token: string | undefined): Promise<OperationResult> {
    const name = job.name;
    const instanceId = instanceIdOf(job);
    const logger = this.deps.logger.child({
      jobId: job.id,
      job: name,
      instanceId,
      attempt: job.attemptsMade + 1,
    });
    if (!isJobName(name)) {
      logger.error('unknown job name');
      throw new UnrecoverableError(`unknown job name ${JSON.stringify(name)}`);
    }
    const definition = taskmanagerJobs[name];
    const operation = operations[name] as Operation<unknown>;
    const base = { ...this.deps, logger };

    const payload = definition.schema.safeParse(job.data);
    if (!payload.success) {
      const details = z.prettifyError(payload.error);
      logger.error({ details }, 'invalid job payload');
      if (instanceId) {
        await operation.recordFailure(base, instanceId, {
          message: 'The request for this operation could not be read by the control plane.',
          details,
        });
      }
      throw new UnrecoverableError(`invalid ${name} payload: ${details}`);
    }

    const signal = AbortSignal.any([
      this.shutdown.signal,
      AbortSignal.timeout(definition.timeoutMs),
    ]);
    const startedAt = Date.now();
    logger.info('job started');
    try {
      const result = await operation.run({ ...base, signal }, payload.data);
      logger.info({ ...result, ms: Date.now() - startedAt }, 'job finished');
      return result;
    } catch (error) {
      if (this.shutdown.signal.aborted && (error instanceof AbortedError || signal.aborted)) {
        logger.info('shutting down: the job goes back to waiting');
        if (token) await job.moveToWait(token);
        throw new WaitingError();
      }
      let fault: Fault;
      if (error instanceof OperationFailure) {
        fault = error.fault;
      } else if (isLastAttempt(job)) {
        logger.error({ err: error }, 'job failed on its last attempt');
        fault = { message: failureMessage(name), details: describe(error) };
      } else {
        throw error;
      }
      if (instanceId) await operation.recordFailure(base, instanceId, fault);
      return { outcome: 'failed', fault };
    }
  }
}

function failureMessage(name: TaskmanagerJobName): string {
  switch (name) {
    case 'instance.create':
      return 'The instance could not be built because of an error in the control plane.';
    case 'instance.restart':
      return 'The instance could not be restarted because of an error in the control plane.';
    case 'instance.delete':
      return 'The instance could not be deleted yet; Coffer will try again.';
    case 'backup.create':
      return 'The backup could not be made because of an error in the control plane.';
    case 'backup.delete':
      return 'The backup could not be deleted yet; Coffer will try again.';
    case 'replica.promote':
      return 'The replica could not be promoted because of an error in the control plane.';
    case 'replica.eject':
      return 'The source could not be ejected because of an error in the control plane.';
    case 'replica.detach':
      return 'The replica could not be detached because of an error in the control plane.';
    case 'instance.resize':
      return 'The instance could not be resized because of an error in the control plane.';
    case 'instance.setAccess':
      return 'The allowed sources could not be applied because of an error in the control plane.';
    case 'configuration.apply':
      return 'The configuration could not be applied because of an error in the control plane.';
  }
}
