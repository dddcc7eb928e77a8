import { randomUUID } from 'node:crypto';

import {
  configurationApplySchema,
  findConfigurationCatalog,
  TASKMANAGER_QUEUE,
  validateConfiguration,
  type ConfigurationApply,
  type ConfigurationApplyJob,
} from '@coffer/contracts';
import { GuestClient, GuestRpcError } from '@coffer/guest-client';
import { Queue } from 'bullmq';

import { raceAbort } from '../events';
import { enqueueTaskmanagerJob } from './enqueue';
import { openGuestSecret } from '../guest-secret';
import {
  OperationFailure,
  recordInstanceFault,
  skipped,
  type Operation,
  type OperationContext,
} from './operation';

/**
 * `configuration.apply` (issue 15): the instance's values (its configuration group's, or
 * none once detached) onto its server through the guest's `apply_configuration`. The row is
 * the truth: the job reads it when it runs and applies again until what it applied is what
 * the row says (an edit or a detach during the apply is not lost). The guest's report goes to
 * Instance.configurationApply (values applied, reset, waiting for a restart, refused); the
 * guest's heartbeats say RESTART_REQUIRED while static values wait. No task status: an apply
 * runs beside anything else (the guest takes its methods one at a time).
 *
 * Edits during an apply: every edit queues a job of its own, and each job reads the row when
 * it runs and again after the guest answered, applying again while they differ; the guest
 * takes calls one at a time, so the last call it answers carries the row as it is now (the
 * last edit wins on every instance, whatever order the jobs ran in). An instance being built
 * skips the job (its prepare read the group already): the create queues one more apply once
 * the instance is ACTIVE if the group changed meanwhile (queueApplyIfBehind).
 */

async function loadRow(ctx: OperationContext, instanceId: string) {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      id: true,
      projectId: true,
      taskStatus: true,
      deletedAt: true,
      computeServerId: true,
      guestSecretEnc: true,
      configurationGroupId: true,
      configurationGroup: { select: { id: true, values: true, updatedAt: true } },
      datastoreVersion: { select: { name: true, datastore: { select: { manager: true } } } },
    },
  });
  return row && !row.deletedAt && row.taskStatus !== 'DELETING' ? row : null;
}

const revisionOf = (row: {
  configurationGroupId: string | null;
  configurationGroup: { updatedAt: Date } | null;
}) =>
  `${row.configurationGroupId ?? '-'}@${row.configurationGroup?.updatedAt.toISOString() ?? '-'}`;

/** The revision an instance's last apply (or its prepare) recorded; none: as without a group. */
function appliedRevisionOf(record: unknown): string {
  const parsed = configurationApplySchema.safeParse(record);
  if (!parsed.success) return '-@-';
  return `${parsed.data.groupId ?? '-'}@${parsed.data.groupUpdatedAt ?? '-'}`;
}

const run: Operation<ConfigurationApplyJob>['run'] = async (ctx, payload) => {
  const { instanceId } = payload;
  let row = await loadRow(ctx, instanceId);
  if (!row) return skipped('the instance no longer exists');
  // Not built yet: the create gives the guest the group's values at prepare.
  if (!row.guestSecretEnc || !row.computeServerId || row.taskStatus === 'BUILDING') {
    return skipped('the instance is not built yet');
  }
  const guestSecret = openGuestSecret(ctx.settings.masterKey, instanceId, row.guestSecretEnc);
  const client = new GuestClient({ connection: ctx.redis, instanceId, guestSecret });
  try {
    for (let round = 0; round < 5; round++) {
      const { manager } = row.datastoreVersion.datastore;
      const catalog = findConfigurationCatalog(manager, row.datastoreVersion.name);
      if (!catalog) {
        throw new OperationFailure(
          `Configuration groups are not available for ${manager} ${row.datastoreVersion.name}.`,
        );
      }
      const values = (row.configurationGroup?.values ?? {}) as Record<string, unknown>;
      const check = validateConfiguration(catalog, values);
      if (check.errors.length > 0) {
        throw new OperationFailure(
          `The configuration group has values this version refuses: ${check.errors.map((e) => e.message).join('; ')}`,
        );
      }
      let result;
      try {
        result = await raceAbort(
          client.call(
            'apply_configuration',
            { values: check.values },
            { timeoutMs: ctx.settings.tuning.guestCallTimeoutMs * 3 },
          ),
          ctx.signal,
        );
      } catch (error) {
        if (error instanceof GuestRpcError) {
          throw new OperationFailure(
            `The configuration could not be applied: ${error.guestMessage}`,
            undefined,
            { cause: error },
          );
        }
        throw error;
      }
      const record: ConfigurationApply = {
        ...result,
        at: new Date().toISOString(),
        groupId: row.configurationGroupId,
        groupUpdatedAt: row.configurationGroup?.updatedAt.toISOString() ?? null,
      };
      await ctx.prisma.instance.update({
        where: { id: instanceId },
        data: { configurationApply: record },
      });
      ctx.logger.info(
        {
          applied: result.applied.length,
          reset: result.reset.length,
          pendingRestart: result.pendingRestart,
          failed: result.failed,
        },
        'configuration applied',
      );
      await ctx.publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId,
      });
      const after = await loadRow(ctx, instanceId);
      if (!after) return skipped('the instance no longer exists');
      if (revisionOf(after) === revisionOf(row)) return { outcome: 'done' };
      row = after;
    }
  } finally {
    await client.close();
  }
  throw new Error('the configuration kept changing while it was applied');
};

const recordFailure: Operation<ConfigurationApplyJob>['recordFailure'] = (ctx, instanceId, fault) =>
  recordInstanceFault(ctx, instanceId, fault, { what: 'configuration apply' });

export const applyConfigurationOperation: Operation<ConfigurationApplyJob> = {
  run,
  recordFailure,
};

/**
 * For `prepare` (a create with a group): the group's values as config overrides (my.cnf
 * option names), in force from the server's first start, and the report to keep on the
 * instance. No group: nothing.
 */
export async function prepareOverridesFor(
  ctx: OperationContext,
  instanceId: string,
): Promise<{
  overrides: Record<string, string | number | boolean>;
  record: ConfigurationApply;
} | null> {
  const row = await loadRow(ctx, instanceId);
  const group = row?.configurationGroup;
  if (!row || !group) return null;
  const { manager } = row.datastoreVersion.datastore;
  const catalog = findConfigurationCatalog(manager, row.datastoreVersion.name);
  if (!catalog) return null;
  const check = validateConfiguration(catalog, group.values as Record<string, unknown>);
  if (check.errors.length > 0) {
    throw new OperationFailure(
      `The configuration group has values this version refuses: ${check.errors.map((e) => e.message).join('; ')}`,
    );
  }
  const overrides: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(check.values)) {
    const parameter = catalog.byName.get(name);
    // An empty text value is the server's default: no line (as the guest does).
    if (parameter?.type === 'string' && value === '') continue;
    overrides[parameter?.option ?? name] = value;
  }
  return {
    overrides,
    record: {
      applied: Object.keys(check.values),
      reset: [],
      pendingRestart: [],
      failed: [],
      at: new Date().toISOString(),
      groupId: group.id,
      groupUpdatedAt: group.updatedAt.toISOString(),
    },
  };
}

/**
 * After a create: an edit, attach or detach made while the instance was being built had its
 * apply skipped (the create's prepare had read the group before). If what the instance
 * recorded is not the row as it is now, a `configuration.apply` is queued; its job reads the
 * row when it runs. Answers whether one was queued.
 */
export async function queueApplyIfBehind(
  ctx: OperationContext,
  instanceId: string,
): Promise<boolean> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      configurationGroupId: true,
      configurationGroup: { select: { updatedAt: true } },
      configurationApply: true,
    },
  });
  if (!row || appliedRevisionOf(row.configurationApply) === revisionOf(row)) return false;
  const queue = new Queue(TASKMANAGER_QUEUE, {
    connection: ctx.redis,
    prefix: ctx.settings.queuePrefix,
  });
  try {
    await enqueueTaskmanagerJob(queue, 'configuration.apply', `${instanceId}-${randomUUID()}`, {
      instanceId,
    });
  } finally {
    await queue.close();
  }
  ctx.logger.info('the configuration changed while the instance was built: apply queued');
  return true;
}
