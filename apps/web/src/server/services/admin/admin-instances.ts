import 'server-only';

import { AppError, taskmanagerJobId } from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { clearedFault } from '@coffer/db/domain/faults';
import { type Logger } from 'pino';
import { z } from 'zod';

import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob, getTaskmanagerQueue } from '~/server/queue';
import { type AuditTarget } from '~/server/services/audit/record-audit-event';
import {
  instanceSelect,
  instanceViewSchema,
  toInstanceView,
} from '~/server/services/instance/instance-view';
import {
  findInstancePage,
  instanceListInput,
  instanceListWhere,
} from '~/server/services/instance/list-instances';

/**
 * Operators' instance tools (Trove's admin actions): every instance of every project with its
 * health, reset_status for an instance stuck in a task, and force delete.
 */

export const adminInstanceSelect = {
  ...instanceSelect,
  faultDetails: true,
  faultAt: true,
  computeServerId: true,
  project: { select: { id: true, name: true } },
} as const;

export const adminInstanceViewSchema = instanceViewSchema.extend({
  project: z.object({ id: z.string(), name: z.string() }),
  faultDetails: z.string().nullable(),
  faultAt: z.date().nullable(),
  computeServerId: z.string().nullable(),
  /** Seconds since the guest last reported (null: never). */
  heartbeatAgeSeconds: z.number().nullable(),
});
export type AdminInstanceView = z.infer<typeof adminInstanceViewSchema>;

type AdminRow = Awaited<ReturnType<typeof findAdminInstance>> & object;

function findAdminInstance(db: PrismaClient, instanceId: string) {
  return db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: adminInstanceSelect,
  });
}

export function toAdminInstanceView(row: AdminRow, now = new Date()): AdminInstanceView {
  const { project, faultDetails, faultAt, computeServerId, ...rest } = row;
  return {
    ...toInstanceView(rest, now),
    project,
    faultDetails,
    faultAt,
    computeServerId,
    heartbeatAgeSeconds: row.lastHeartbeatAt
      ? Math.max(0, Math.round((now.getTime() - row.lastHeartbeatAt.getTime()) / 1000))
      : null,
  };
}

/** The admin list's search, filters, sort and page (list-instances.ts): every one applied on the server. */
export const adminInstanceListInput = instanceListInput.extend({
  projectId: z.uuid({ error: 'Project not found' }).optional(),
});
export type AdminInstanceListInput = z.input<typeof adminInstanceListInput>;

export const adminInstancePageSchema = z.object({
  instances: z.array(adminInstanceViewSchema),
  /** How many instances match (every page). */
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
});

/** Every instance of every project that matches (the search also finds project names), one page of them, with how many match. */
export async function listAllInstances(
  db: PrismaClient,
  raw: AdminInstanceListInput = {},
): Promise<z.infer<typeof adminInstancePageSchema>> {
  const input = adminInstanceListInput.parse(raw);
  const now = new Date();
  const where = instanceListWhere(input, now, {
    scope: input.projectId ? [{ projectId: input.projectId }] : [],
    alsoSearch: (text) => [{ project: { name: text } }],
  });
  const { rows, total } = await findInstancePage(db, {
    where,
    select: adminInstanceSelect,
    input,
    now,
  });
  return {
    instances: rows.map((row) => toAdminInstanceView(row, now)),
    total,
    page: input.page,
    pageSize: input.pageSize,
  };
}

interface AdminActionContext {
  db: PrismaClient;
  log: Logger;
  /** The audit event names the instance's project, so its owners see what an operator did. */
  audit: AuditTarget;
}

async function requireInstance(ctx: AdminActionContext, instanceId: string): Promise<AdminRow> {
  const row = await findAdminInstance(ctx.db, instanceId);
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  ctx.audit.projectId = row.project.id;
  ctx.audit.resourceId = row.id;
  return row;
}

/** Writes `data` to the instance's row (not found unless it exists); the row as it was before. */
async function updateInstance(
  ctx: AdminActionContext,
  instanceId: string,
  data: Prisma.InstanceUpdateManyMutationInput,
): Promise<AdminRow> {
  const before = await requireInstance(ctx, instanceId);
  await ctx.db.instance.updateMany({ where: { id: instanceId, deletedAt: null }, data });
  return before;
}

/**
 * Trove's reset_status: the task goes back to NONE and the service status to UNKNOWN, so the
 * guest's next heartbeat decides what it is (silence turns it SHUTDOWN); the fault is cleared.
 * For an instance stuck in a task whose job is gone.
 */
export async function resetInstanceStatus(
  ctx: AdminActionContext,
  instanceId: string,
): Promise<AdminInstanceView> {
  const before = await updateInstance(ctx, instanceId, {
    taskStatus: 'NONE',
    serviceStatus: 'UNKNOWN',
    ...clearedFault(),
  });
  ctx.log.warn(
    {
      instanceId,
      projectId: before.project.id,
      taskStatus: before.taskStatus,
      serviceStatus: before.serviceStatus,
    },
    'admin: instance status reset',
  );
  await publishChange({ type: 'instance.changed', projectId: before.project.id, instanceId });
  return toAdminInstanceView((await findAdminInstance(ctx.db, instanceId))!);
}

/**
 * Force delete: DELETING whatever the task, and a delete job now. A failed delete job of
 * earlier is replaced (its id is deterministic, so it would otherwise block the new one), a
 * delayed one runs at once. The taskmanager removes the server if there is one and the row
 * in any case.
 */
export async function forceDeleteInstance(
  ctx: AdminActionContext,
  instanceId: string,
): Promise<AdminInstanceView> {
  const before = await updateInstance(ctx, instanceId, { taskStatus: 'DELETING' });
  const queue = getTaskmanagerQueue();
  const previous = await queue.getJob(taskmanagerJobId('instance.delete', instanceId));
  if (previous) {
    const state = await previous.getState();
    if (state === 'failed' || state === 'completed') await previous.remove();
    else if (state === 'delayed') await previous.promote();
  }
  try {
    await enqueueTaskmanagerJob('instance.delete', instanceId, { instanceId });
  } catch (error) {
    throw new AppError('UNAVAILABLE', 'Coffer could not queue the delete; try again in a moment', {
      cause: error,
    });
  }
  ctx.log.warn(
    { instanceId, projectId: before.project.id, taskStatus: before.taskStatus },
    'admin: instance force delete',
  );
  await publishChange({ type: 'instance.changed', projectId: before.project.id, instanceId });
  const after = await findAdminInstance(ctx.db, instanceId);
  // The taskmanager may already have removed it.
  return after
    ? toAdminInstanceView(after)
    : { ...toAdminInstanceView(before), taskStatus: 'DELETING', status: 'DELETING' };
}
