import 'server-only';

import { randomUUID } from 'node:crypto';

import { AppError, type Access } from '@coffer/contracts';
import { type Logger } from 'pino';

import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob } from '~/server/queue';
import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from './instance-actions';
import { type InstanceView } from './instance-view';

interface AccessContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/**
 * Changes who may reach the instance's database port: the row first (the truth, shown at
 * once), then `instance.setAccess`, which puts it on the server's firewall. The input was
 * checked by the contracts' rule before this runs: a refusal changes nothing. Refused while
 * the instance has no server yet (its create applies the row's sources) or is being deleted.
 */
export async function setInstanceAccess(
  ctx: AccessContext,
  instanceId: string,
  access: Access,
): Promise<InstanceView> {
  const instance = await getInstance(ctx, instanceId);
  const before = { isPublic: instance.isPublic, allowedCidrs: instance.allowedCidrs };
  const { count } = await ctx.db.instance.updateMany({
    where: {
      id: instanceId,
      deletedAt: null,
      computeServerId: { not: null },
      taskStatus: { notIn: ['BUILDING', 'DELETING'] },
    },
    data: { isPublic: access.isPublic, allowedCidrs: access.allowedCidrs },
  });
  if (count === 0) {
    throw new AppError(
      'CONFLICT',
      `The allowed sources cannot be changed while the instance is ${instance.status}`,
    );
  }
  try {
    // A job per change (a fresh id): one still running never swallows the next.
    await enqueueTaskmanagerJob('instance.setAccess', randomUUID(), { instanceId });
  } catch (error) {
    await ctx.db.instance.updateMany({ where: { id: instanceId }, data: before });
    throw new AppError('UNAVAILABLE', 'Coffer could not apply the change; try again in a moment', {
      cause: error,
    });
  }
  ctx.log.info(
    { instanceId, isPublic: access.isPublic, allowedCidrs: access.allowedCidrs.length },
    'allowed sources changed',
  );
  await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  return getInstance(ctx, instanceId);
}
