import 'server-only';

import {
  TASKMANAGER_QUEUE,
  taskmanagerJobId,
  taskmanagerJobs,
  type TaskmanagerJobName,
  type TaskmanagerJobPayload,
} from '@coffer/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { env } from '~/env';

const globalForQueue = globalThis as unknown as { cofferTaskmanagerQueue?: Queue; cofferQueueRedis?: Redis };

/** The taskmanager queue (the admin views read and manage its jobs too). */
export function getTaskmanagerQueue(): Queue {
  if (!globalForQueue.cofferTaskmanagerQueue) {
    const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
    globalForQueue.cofferQueueRedis = connection;
    globalForQueue.cofferTaskmanagerQueue = new Queue(TASKMANAGER_QUEUE, { connection, prefix: env.COFFER_QUEUE_PREFIX });
  }
  return globalForQueue.cofferTaskmanagerQueue;
}

/**
 * Hands a heavy operation to the taskmanager. The job id is deterministic
 * (`instance.create-<id>`), so adding it twice is one job; the payload is checked against the
 * contract before it leaves.
 */
export async function enqueueTaskmanagerJob<N extends TaskmanagerJobName>(
  name: N,
  resourceId: string,
  payload: TaskmanagerJobPayload<N>,
): Promise<void> {
  const definition = taskmanagerJobs[name];
  const data = definition.schema.parse(payload);
  await getTaskmanagerQueue().add(name, data, {
    jobId: taskmanagerJobId(name, resourceId),
    attempts: definition.attempts,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}
