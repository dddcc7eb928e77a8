import 'server-only';

import { randomUUID } from 'node:crypto';

import {
  AppError,
  callResultSchema,
  CofferError,
  TASKMANAGER_QUEUE,
  taskmanagerCallOptions,
  taskmanagerCalls,
  taskmanagerJobOptions,
  taskmanagerJobs,
  type TaskmanagerCallName,
  type TaskmanagerCallPayload,
  type TaskmanagerCallValue,
  type TaskmanagerJobName,
  type TaskmanagerJobPayload,
} from '@coffer/contracts';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';

import { env } from '~/env';

const globalForQueue = globalThis as unknown as {
  cofferTaskmanagerQueue?: Queue;
  cofferQueueRedis?: Redis;
  cofferTaskmanagerEvents?: QueueEvents;
};

/** The taskmanager queue (the admin views read and manage its jobs too). */
export function getTaskmanagerQueue(): Queue {
  if (!globalForQueue.cofferTaskmanagerQueue) {
    const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
    globalForQueue.cofferQueueRedis = connection;
    globalForQueue.cofferTaskmanagerQueue = new Queue(TASKMANAGER_QUEUE, {
      connection,
      prefix: env.COFFER_QUEUE_PREFIX,
    });
  }
  return globalForQueue.cofferTaskmanagerQueue;
}

/**
 * Hands a heavy operation to the taskmanager. The job id is deterministic
 * (`instance.create-<id>`), so adding it twice is one job; the payload is checked against the
 * contract before it leaves; its retries and retention are the job's own (contracts jobs.ts).
 */
export async function enqueueTaskmanagerJob<N extends TaskmanagerJobName>(
  name: N,
  resourceId: string,
  payload: TaskmanagerJobPayload<N>,
): Promise<void> {
  const data = taskmanagerJobs[name].schema.parse(payload);
  await getTaskmanagerQueue().add(name, data, taskmanagerJobOptions(name, resourceId));
}

/** The taskmanager queue's events (completions), which waiting callers listen to: one per process, on a connection of its own (it blocks). */
async function getTaskmanagerEvents(): Promise<QueueEvents> {
  if (!globalForQueue.cofferTaskmanagerEvents) {
    const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    globalForQueue.cofferTaskmanagerEvents = new QueueEvents(TASKMANAGER_QUEUE, {
      connection,
      prefix: env.COFFER_QUEUE_PREFIX,
    });
  }
  const events = globalForQueue.cofferTaskmanagerEvents;
  await events.waitUntilReady();
  return events;
}

/**
 * Calls through the taskmanager (Trove's RPC call): adds the job with an id of its own (calls
 * are not idempotent per resource, so two at once never collide) and waits for its answer,
 * at most `timeoutMs`. The web app never talks to a guest; the worker does, and completes the
 * job with the answer or the reason it failed, which becomes an AppError here (with a field
 * error when the failure names a field). An answer is removed from Redis once read; one
 * nobody read goes after a minute (the call's retention, contracts jobs.ts). A job no worker
 * took in time is withdrawn.
 */
export async function callTaskmanager<N extends TaskmanagerCallName>(
  name: N,
  instanceId: string,
  payload: TaskmanagerCallPayload<N>,
  { timeoutMs = env.COFFER_CALL_TIMEOUT_SECONDS * 1000 }: { timeoutMs?: number } = {},
): Promise<TaskmanagerCallValue<N>> {
  const data: unknown = taskmanagerCalls[name].schema.parse(payload);
  let job: Job;
  let events: QueueEvents;
  try {
    events = await getTaskmanagerEvents();
    job = await getTaskmanagerQueue().add(
      name,
      data,
      taskmanagerCallOptions(name, instanceId, randomUUID()),
    );
  } catch (error) {
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not reach its taskmanager; try again in a moment',
      { cause: error },
    );
  }

  let raw: unknown;
  try {
    raw = await job.waitUntilFinished(events, timeoutMs);
  } catch (error) {
    const state = await job.getState().catch(() => 'unknown');
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove().catch(() => undefined);
      throw new AppError(
        'UNAVAILABLE',
        'No Coffer worker took the request in time; nothing was changed. Try again in a moment.',
        { cause: error },
      );
    }
    if (state === 'active' || /timed out/.test(error instanceof Error ? error.message : '')) {
      throw new AppError(
        'UNAVAILABLE',
        'The instance did not answer in time; a change may still be applied. Check again in a moment.',
        { cause: error },
      );
    }
    throw new AppError(
      'INTERNAL',
      'Coffer could not complete the request because of an error in the control plane',
      { cause: error },
    );
  }
  await job.remove().catch(() => undefined);

  const result = callResultSchema(name).safeParse(raw);
  if (!result.success) {
    throw new AppError('INTERNAL', 'Coffer could not read the answer to the request', {
      cause: result.error,
    });
  }
  if (!result.data.ok) throw CofferError.fromJSON(result.data.failure);
  return result.data.value as TaskmanagerCallValue<N>;
}
