import { isComputeError } from '@coffer/compute';
import { type InstanceSetAccessJob } from '@coffer/contracts';

import {
  OperationFailure,
  recordInstanceFault,
  skipped,
  type Operation,
  type OperationContext,
} from './operation';

/**
 * `instance.setAccess` (Trove's `access` update): the row's allowed sources, onto its server
 * (`provider.setAllowedSources`: an nftables transaction on the local provider). The row is
 * the truth: the job reads it when it runs and applies it until the row it read is the row
 * there is (two changes whose jobs overlap end with the last one applied). No task status:
 * access changes beside anything else; a failure for good leaves a fault.
 */

async function loadAccess(ctx: OperationContext, instanceId: string) {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      deletedAt: true,
      taskStatus: true,
      computeServerId: true,
      projectId: true,
      isPublic: true,
      allowedCidrs: true,
    },
  });
  return row && !row.deletedAt && row.taskStatus !== 'DELETING' ? row : null;
}

const sameAccess = (
  a: { isPublic: boolean; allowedCidrs: string[] },
  b: { isPublic: boolean; allowedCidrs: string[] },
) => a.isPublic === b.isPublic && a.allowedCidrs.join(',') === b.allowedCidrs.join(',');

const run: Operation<InstanceSetAccessJob>['run'] = async (ctx, payload) => {
  const { instanceId } = payload;
  let row = await loadAccess(ctx, instanceId);
  if (!row) return skipped('the instance no longer exists');
  // Not built yet: the create gives the server the row's sources.
  const serverId = row.computeServerId;
  if (!serverId) return skipped('the instance has no server yet');
  for (let round = 0; round < 10; round++) {
    try {
      await ctx.provider.setAllowedSources(serverId, {
        isPublic: row.isPublic,
        cidrs: row.allowedCidrs,
      });
    } catch (error) {
      if (isComputeError(error, 'INVALID')) {
        throw new OperationFailure(
          `The allowed sources could not be applied: ${error.message}`,
          undefined,
          { cause: error },
        );
      }
      if (isComputeError(error, 'NOT_FOUND')) return skipped('the server is gone');
      throw error;
    }
    const after = await loadAccess(ctx, instanceId);
    if (!after || !after.computeServerId) return skipped('the instance no longer exists');
    if (sameAccess(after, row)) {
      ctx.logger.info(
        { isPublic: row.isPublic, allowedCidrs: row.allowedCidrs },
        'allowed sources applied',
      );
      await ctx.publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId,
      });
      return { outcome: 'done' };
    }
    row = after;
  }
  throw new Error('the allowed sources kept changing while they were applied');
};

const recordFailure: Operation<InstanceSetAccessJob>['recordFailure'] = (ctx, instanceId, fault) =>
  recordInstanceFault(ctx, instanceId, fault, { what: 'allowed sources change' });

export const setAccessOperation: Operation<InstanceSetAccessJob> = { run, recordFailure };
