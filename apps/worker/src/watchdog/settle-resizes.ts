import { resizeStateSchema, taskmanagerJobId } from '@coffer/contracts';
import { Prisma, type PrismaClient } from '@coffer/db';
import { faultFields } from '@coffer/db/domain/faults';
import { type Queue } from 'bullmq';

import { type ChangePublisher } from '../events';
import { type Logger } from '../logger';
import { enqueueTaskmanagerJob, LIVE_JOB_STATES } from '../taskmanager/enqueue';
import { type Suspects } from './suspects';

/**
 * Resizes nobody runs any more (issue 13): an instance RESIZING whose `instance.resize` job is
 * gone or failed (its worker died too many times, or it was discarded), seen so for the grace
 * period, gets its job again, which resumes from the row's `resizeState`: a volume rolls
 * forward (growing again is harmless), a flavor rolls back to the one it ran with (the job's
 * `rollback` direction: limits and config back, a restart, a fault saying so). A RESIZING row
 * without a readable record cannot be resumed: its task ends with a fault.
 */
export async function settleResizes({
  prisma,
  queue,
  publisher,
  logger,
  suspects,
  graceMs,
  now,
}: {
  prisma: PrismaClient;
  queue: Queue;
  publisher: ChangePublisher;
  logger: Logger;
  suspects: Suspects;
  graceMs: number;
  now: Date;
}): Promise<string[]> {
  const settled: string[] = [];
  const rows = await prisma.instance.findMany({
    where: { taskStatus: 'RESIZING', deletedAt: null },
    select: { id: true, projectId: true, resizeState: true },
  });
  for (const row of rows) {
    const job = await queue.getJob(taskmanagerJobId('instance.resize', row.id));
    const state = job ? await job.getState() : 'missing';
    if (LIVE_JOB_STATES.has(state)) continue;
    if (!suspects.isSuspectFor(`resize:${row.id}`, graceMs, now.getTime())) continue;
    const record = resizeStateSchema.safeParse(row.resizeState);
    if (!record.success) {
      const { count } = await prisma.instance.updateMany({
        where: { id: row.id, taskStatus: 'RESIZING' },
        data: {
          taskStatus: 'NONE',
          resizeState: Prisma.DbNull,
          ...faultFields(
            {
              message: 'A resize was interrupted and could not be resumed; resize again if needed.',
            },
            now,
          ),
        },
      });
      if (count > 0) {
        settled.push(row.id);
        await publisher.publish({
          type: 'instance.changed',
          projectId: row.projectId,
          instanceId: row.id,
        });
      }
      continue;
    }
    if (job) await job.remove().catch(() => undefined);
    const direction = record.data.kind === 'flavor' ? 'rollback' : 'forward';
    await enqueueTaskmanagerJob(queue, 'instance.resize', row.id, {
      instanceId: row.id,
      direction,
    });
    logger.warn(
      { instanceId: row.id, kind: record.data.kind, direction, previousState: state },
      'watchdog: queued an interrupted resize again',
    );
    settled.push(row.id);
  }
  return settled;
}
