import 'server-only';

import { deriveDisplayStatus, displayStatusSchema } from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { env } from '~/env';
import { displayStatusWhere } from '~/server/services/instance/display-status-where';
import {
  instanceSelect,
  instanceViewSchema,
  toInstanceView,
} from '~/server/services/instance/instance-view';

/**
 * One page of instances, searched, filtered and sorted by the database: the one rule behind
 * the admin list (every project) and a project's own list. Sorted by name or creation in the
 * query; by status (derived from three columns and the clock) from the matching rows' status
 * columns alone, and then only the page's rows are read whole.
 */

export const instanceListSorts = ['created', 'name', 'status'] as const;

/** Search, status, sort and page, as both lists take them. */
export const instanceListInput = z.object({
  /** Part of the instance's name (the admin list: or its project's name), or the start of its id. */
  search: z.string().trim().max(200).optional(),
  status: displayStatusSchema.optional(),
  sort: z.enum(instanceListSorts).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(25),
});
export type InstanceListOptions = z.output<typeof instanceListInput>;

const HEX_ID_PREFIX = /^[0-9a-f-]{4,36}$/i;

/** Ids starting with `prefix` (dashes ignored), as a range of UUIDs; null when it is not hex. */
export function idRangeOf(prefix: string): { gte: string; lte: string } | null {
  if (!HEX_ID_PREFIX.test(prefix)) return null;
  const hex = prefix.replace(/-/g, '').toLowerCase();
  if (hex.length === 0 || hex.length > 32) return null;
  const asUuid = (digits: string) =>
    `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)}`;
  return { gte: asUuid(hex.padEnd(32, '0')), lte: asUuid(hex.padEnd(32, 'f')) };
}

/**
 * The filter of a list: not deleted, `scope` (a project, say), the status as shown now, and the
 * search on the name, the id's start and `alsoSearch` (say, the project's name).
 */
export function instanceListWhere(
  input: Pick<InstanceListOptions, 'search' | 'status'>,
  now: Date,
  {
    scope = [],
    alsoSearch = () => [],
  }: {
    scope?: Prisma.InstanceWhereInput[];
    alsoSearch?: (text: Prisma.StringFilter) => Prisma.InstanceWhereInput[];
  } = {},
): Prisma.InstanceWhereInput {
  const and: Prisma.InstanceWhereInput[] = [{ deletedAt: null }, ...scope];
  if (input.status) {
    and.push(displayStatusWhere(input.status, now, env.COFFER_HEARTBEAT_EXPIRY_SECONDS));
  }
  if (input.search) {
    const text = { contains: input.search, mode: 'insensitive' as const };
    const idRange = idRangeOf(input.search);
    and.push({
      OR: [{ name: text }, ...alsoSearch(text), ...(idRange ? [{ id: idRange }] : [])],
    });
  }
  return { AND: and };
}

/** The page of rows (with `select`) matching `where`, in the input's order, and how many match. */
export async function findInstancePage<S extends Prisma.InstanceSelect>(
  db: PrismaClient,
  {
    where,
    select,
    input,
    now,
  }: { where: Prisma.InstanceWhereInput; select: S; input: InstanceListOptions; now: Date },
): Promise<{ rows: Prisma.InstanceGetPayload<{ select: S }>[]; total: number }> {
  const skip = (input.page - 1) * input.pageSize;
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
      .sort(
        (a, b) =>
          direction * a.status.localeCompare(b.status) ||
          a.name.localeCompare(b.name) ||
          a.id.localeCompare(b.id),
      );
    const ids = ordered.slice(skip, skip + input.pageSize).map((row) => row.id);
    const rows = (await db.instance.findMany({
      where: { AND: [where, { id: { in: ids } }] },
      select,
    })) as Prisma.InstanceGetPayload<{ select: S }>[];
    const byId = new Map(rows.map((row) => [(row as { id: string }).id, row]));
    return {
      rows: ids.flatMap((id) => {
        const row = byId.get(id);
        return row ? [row] : [];
      }),
      total: ordered.length,
    };
  }
  const orderBy: Prisma.InstanceOrderByWithRelationInput[] =
    input.sort === 'name'
      ? [{ name: input.order }, { id: 'asc' }]
      : [{ createdAt: input.order }, { id: 'asc' }];
  const [rows, total] = await Promise.all([
    db.instance.findMany({ where, select, orderBy, skip, take: input.pageSize }),
    db.instance.count({ where }),
  ]);
  return { rows: rows as Prisma.InstanceGetPayload<{ select: S }>[], total };
}

/** A project's list: the same search (name, id), status, sort and page. */
export const projectInstanceListInput = instanceListInput.extend({
  projectId: z.uuid({ error: 'Project not found' }),
});

export const projectInstancePageSchema = z.object({
  items: z.array(instanceViewSchema),
  /** How many instances match (every page). */
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
});

/** One page of the project's instances (`db` scoped to the project; the filter names it too). */
export async function listProjectInstances(
  db: PrismaClient,
  projectId: string,
  input: InstanceListOptions,
): Promise<z.infer<typeof projectInstancePageSchema>> {
  const now = new Date();
  const where = instanceListWhere(input, now, { scope: [{ projectId }] });
  const { rows, total } = await findInstancePage(db, {
    where,
    select: instanceSelect,
    input,
    now,
  });
  return {
    items: rows.map((row) => toInstanceView(row, now)),
    total,
    page: input.page,
    pageSize: input.pageSize,
  };
}
