import 'server-only';

import { AppError } from '@coffer/contracts';
import { type Logger } from 'pino';

import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { type ProjectScopedDb } from '~/server/tenancy';
import { instanceSelect, toInstanceView, type InstanceView } from './instance-view';

interface ActionContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** The instance of this project, or "not found" (another project's id included). */
export async function getInstance(
  ctx: Pick<ActionContext, 'db'>,
  instanceId: string,
): Promise<InstanceView> {
  const row = await ctx.db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: instanceSelect,
  });
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  return toInstanceView(row);
}

/**
 * Restarts the database server (Trove's restart). Allowed when nothing else is under way;
 * the task moves NONE → REBOOTING in one conditional update, so two clicks are one restart.
 */
export async function restartInstance(
  ctx: ActionContext,
  instanceId: string,
): Promise<InstanceView> {
  const instance = await getInstance(ctx, instanceId);
  const { count } = await ctx.db.instance.updateMany({
    where: {
      id: instanceId,
      deletedAt: null,
      taskStatus: 'NONE',
      serviceStatus: { notIn: ['NEW', 'BUILDING', 'FAILED'] },
    },
    data: { taskStatus: 'REBOOTING' },
  });
  if (count === 0) {
    throw new AppError(
      'CONFLICT',
      `The instance cannot be restarted while it is ${instance.status}`,
    );
  }
  try {
    await enqueueTaskmanagerJob('instance.restart', instanceId, { instanceId });
  } catch (error) {
    await ctx.db.instance.updateMany({
      where: { id: instanceId, taskStatus: 'REBOOTING' },
      data: { taskStatus: 'NONE' },
    });
    throw new AppError('UNAVAILABLE', 'Coffer could not start the restart; try again in a moment', {
      cause: error,
    });
  }
  ctx.log.info({ instanceId }, 'instance restart accepted');
  await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  return getInstance(ctx, instanceId);
}

/**
 * Deletes an instance: the task becomes DELETING (whatever was under way stops at its next
 * step) and the taskmanager removes the server, its files and the row. A source with replicas
 * is refused.
 */
export async function deleteInstance(
  ctx: ActionContext,
  instanceId: string,
): Promise<InstanceView> {
  const instance = await getInstance(ctx, instanceId);
  // A source goes after its replicas (Trove refuses too): they would be left following nothing.
  if (instance.replication.replicaCount > 0) {
    const count = instance.replication.replicaCount;
    throw new AppError(
      'CONFLICT',
      `${instance.name} has ${count} replica${count === 1 ? '' : 's'}: promote one, or detach or delete ${count === 1 ? 'it' : 'them'}, first (eject the source if it is gone)`,
    );
  }
  await ctx.db.instance.updateMany({
    where: { id: instanceId, deletedAt: null },
    data: { taskStatus: 'DELETING' },
  });
  try {
    await enqueueTaskmanagerJob('instance.delete', instanceId, { instanceId });
  } catch (error) {
    throw new AppError(
      'UNAVAILABLE',
      'Coffer could not start deleting the instance; try again in a moment',
      { cause: error },
    );
  }
  ctx.log.info({ instanceId }, 'instance delete accepted');
  await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  return getInstance(ctx, instanceId);
}
