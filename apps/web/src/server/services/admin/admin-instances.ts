import 'server-only';

import {
  AppError,
  deriveDisplayStatus,
  displayStatusSchema,
  taskmanagerJobId,
} from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { clearedFault } from '@coffer/db/domain/faults';
import { type Logger } from 'pino';
import { z } from 'zod';

import { env } from '~/env';
import { publishChange } from '~/server/events';
import { enqueueTaskmanagerJob, getTaskmanagerQueue } from '~/server/queue';
import { type AuditTarget } from '~/server/services/audit/record-audit-event';
import { displayStatusWhere } from '~/server/services/instance/display-status-where';
import {
  instanceSelect,
  instanceViewSchema,
  toInstanceView,
} from '~/server/services/instance/instance-view';

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

export const adminInstanceSorts = ['created', 'name', 'status'] as const;

/** The admin list's search, filters, sort and page: every one applied on the server. */
export const adminInstanceListInput = z.object({
  /** Part of the instance's name or its project's name, or the start of its id. */
  search: z.string().trim().max(200).optional(),
  status: displayStatusSchema.optional(),
  projectId: z.uuid({ error: 'Project not found' }).optional(),
  sort: z.enum(adminInstanceSorts).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(25),
});
export type AdminInstanceListInput = z.input<typeof adminInstanceListInput>;

export const adminInstancePageSchema = z.object({
  instances: z.array(adminInstanceViewSchema),
  /** How many instances match (every page). */
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
});

const HEX_ID_PREFIX = /^[0-9a-f-]{4,36}$/i;

/** Ids starting with `prefix` (dashes ignored), as a range of UUIDs; null when it is not hex. */
function idRangeOf(prefix: string): { gte: string; lte: string } | null {
  if (!HEX_ID_PREFIX.test(prefix)) return null;
  const hex = prefix.replace(/-/g, '').toLowerCase();
  if (hex.length === 0 || hex.length > 32) return null;
  const asUuid = (digits: string) =>
    `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
  return { gte: asUuid(hex.padEnd(32, '0')), lte: asUuid(hex.padEnd(32, 'f')) };
}

function whereOf(input: z.output<typeof adminInstanceListInput>, now: Date) {
  const and: Prisma.InstanceWhereInput[] = [{ deletedAt: null }];
  if (input.projectId) and.push({ projectId: input.projectId });
  if (input.status) {
    and.push(displayStatusWhere(input.status, now, env.COFFER_HEARTBEAT_EXPIRY_SECONDS));
  }
  if (input.search) {
    const text = { contains: input.search, mode: 'insensitive' as const };
    const idRange = idRangeOf(input.search);
    and.push({
      OR: [{ name: text }, { project: { name: text } }, ...(idRange ? [{ id: idRange }] : [])],
    });
  }
  return { AND: and } satisfies Prisma.InstanceWhereInput;
}

/**
 * Every instance of every project that matches, one page of them, with how many match. Sorted
 * by name or creation in the query; by status (derived from three columns and the clock) from
 * the matching rows' status columns alone, and then only the page's rows are read whole.
 */
export async function listAllInstances(
  db: PrismaClient,
  raw: AdminInstanceListInput = {},
): Promise<z.infer<typeof adminInstancePageSchema>> {
  const input = adminInstanceListInput.parse(raw);
  const now = new Date();
  const where = whereOf(input, now);
  const skip = (input.page - 1) * input.pageSize;
  const page = { page: input.page, pageSize: input.pageSize };
  if (input.sort === 'status') {
    const light = await db.instance.findMany({
      where,
      select: {
        id: true,
        name: true,
        taskStatus: true,
        serviceStatus: true,
        lastHeartbeatAt: true,
      },
    });
    const direction = input.order === 'asc' ? 1 : -1;
    const ordered = light
      .map((row) => ({
        id: row.id,
        name: row.name,
        status: deriveDisplayStatus({
          ...row,
          now,
          heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
        }),
      }))
      .sort((a, b) => direction * a.status.localeCompare(b.status) || a.name.localeCompare(b.name));
    const ids = ordered.slice(skip, skip + input.pageSize).map((row) => row.id);
    const rows = await db.instance.findMany({
      where: { id: { in: ids } },
      select: adminInstanceSelect,
    });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return {
      instances: ids.flatMap((id) => {
        const row = byId.get(id);
        return row ? [toAdminInstanceView(row, now)] : [];
      }),
      total: ordered.length,
      ...page,
    };
  }
  const orderBy: Prisma.InstanceOrderByWithRelationInput[] =
    input.sort === 'name'
      ? [{ name: input.order }, { id: 'asc' }]
      : [{ createdAt: input.order }, { id: 'asc' }];
  const [rows, total] = await Promise.all([
    db.instance.findMany({
      where,
      select: adminInstanceSelect,
      orderBy,
      skip,
      take: input.pageSize,
    }),
    db.instance.count({ where }),
  ]);
  return { instances: rows.map((row) => toAdminInstanceView(row, now)), total, ...page };
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
