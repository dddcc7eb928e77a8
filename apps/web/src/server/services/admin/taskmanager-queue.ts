import 'server-only';

import { AppError } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { type Job } from 'bullmq';
import { type Logger } from 'pino';
import { z } from 'zod';

import { getTaskmanagerQueue } from '~/server/queue';
import { type AuditTarget } from '~/server/services/audit/record-audit-event';

/**
 * The taskmanager queue as operators see it: how many jobs wait, run, are delayed (backing
 * off) or failed, the jobs themselves with their error, and retry or discard for failed ones.
 * Job payloads are never shown (they carry sealed secrets).
 */

const LISTED_LIMIT = 100;
const UUID_AT_END = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export const queueJobViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.string(),
  instanceId: z.string().nullable(),
  instance: z
    .object({ name: z.string(), projectId: z.string(), projectName: z.string() })
    .nullable(),
  attemptsMade: z.number(),
  attempts: z.number(),
  failedReason: z.string().nullable(),
  createdAt: z.date(),
  processedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
});
export type QueueJobView = z.infer<typeof queueJobViewSchema>;

export const queueOverviewSchema = z.object({
  counts: z.object({
    waiting: z.number(),
    active: z.number(),
    delayed: z.number(),
    failed: z.number(),
  }),
  /** Waiting, delayed and active jobs, oldest first. */
  pending: z.array(queueJobViewSchema),
  /** Failed jobs, newest first. */
  failed: z.array(queueJobViewSchema),
});

function instanceIdOf(job: Job): string | null {
  const data = job.data as { instanceId?: unknown } | undefined;
  if (typeof data?.instanceId === 'string' && UUID_AT_END.test(data.instanceId))
    return data.instanceId;
  return UUID_AT_END.exec(job.id ?? '')?.[1] ?? null;
}

const date = (ms: number | undefined | null) => (ms ? new Date(ms) : null);

async function toViews(
  db: PrismaClient,
  jobs: { job: Job; state: string }[],
): Promise<QueueJobView[]> {
  const ids = [
    ...new Set(jobs.map(({ job }) => instanceIdOf(job)).filter((id): id is string => id !== null)),
  ];
  const instances = ids.length
    ? await db.instance.findMany({
        where: { id: { in: ids } },
        select: { id: true, name: true, project: { select: { id: true, name: true } } },
      })
    : [];
  const byId = new Map(instances.map((row) => [row.id, row]));
  return jobs.map(({ job, state }) => {
    const instanceId = instanceIdOf(job);
    const instance = instanceId ? byId.get(instanceId) : undefined;
    return {
      id: job.id ?? '',
      name: job.name,
      state,
      instanceId,
      instance: instance
        ? {
            name: instance.name,
            projectId: instance.project.id,
            projectName: instance.project.name,
          }
        : null,
      attemptsMade: job.attemptsMade,
      attempts: job.opts.attempts ?? 1,
      failedReason: job.failedReason || null,
      createdAt: new Date(job.timestamp),
      processedAt: date(job.processedOn),
      finishedAt: date(job.finishedOn),
    };
  });
}

export async function getQueueOverview(
  db: PrismaClient,
): Promise<z.infer<typeof queueOverviewSchema>> {
  const queue = getTaskmanagerQueue();
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
  const pendingStates = ['active', 'waiting', 'prioritized', 'delayed'] as const;
  const pending: { job: Job; state: string }[] = [];
  for (const state of pendingStates) {
    for (const job of await queue.getJobs([state], 0, LISTED_LIMIT - 1, true))
      if (job) pending.push({ job, state });
  }
  const failed = (await queue.getJobs(['failed'], 0, LISTED_LIMIT - 1, false))
    .filter(Boolean)
    .map((job) => ({ job, state: 'failed' }));
  return {
    counts: {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
    },
    pending: await toViews(db, pending.slice(0, LISTED_LIMIT)),
    failed: await toViews(db, failed),
  };
}

interface JobActionContext {
  db: PrismaClient;
  log: Logger;
  audit: AuditTarget;
}

async function requireFailedJob(ctx: JobActionContext, jobId: string): Promise<Job> {
  const job = await getTaskmanagerQueue().getJob(jobId);
  if (!job) throw new AppError('NOT_FOUND', 'Job not found');
  const instanceId = instanceIdOf(job);
  if (instanceId) {
    const row = await ctx.db.instance.findUnique({
      where: { id: instanceId },
      select: { projectId: true },
    });
    ctx.audit.projectId = row?.projectId ?? null;
  }
  ctx.audit.resourceId = job.id ?? jobId;
  const state = await job.getState();
  if (state !== 'failed')
    throw new AppError(
      'CONFLICT',
      `Only failed jobs can be retried or discarded; this one is ${state}`,
    );
  return job;
}

/** Runs a failed job again, with all its attempts. */
export async function retryFailedJob(ctx: JobActionContext, jobId: string): Promise<void> {
  const job = await requireFailedJob(ctx, jobId);
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  ctx.log.warn({ jobId, job: job.name }, 'admin: failed job retried');
}

/** Removes a failed job for good (its instance keeps whatever fault was recorded). */
export async function discardFailedJob(ctx: JobActionContext, jobId: string): Promise<void> {
  const job = await requireFailedJob(ctx, jobId);
  await job.remove();
  ctx.log.warn({ jobId, job: job.name }, 'admin: failed job discarded');
}
