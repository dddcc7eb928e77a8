import 'server-only';

import { backupStatusSchema, backupTypeSchema } from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { idRangeOf } from '~/server/services/instance/list-instances';
import { backupSelect, backupViewSchema, toBackupView } from './backup-view';

/**
 * One page of a project's backups (or one instance's), searched, filtered and sorted by the
 * database, as the instance lists do it (list-instances.ts: the same search by name or id
 * prefix, the same sort order and page).
 */

export const backupListSorts = ['created', 'name', 'instance', 'size'] as const;

export const backupListInput = z.object({
  projectId: z.uuid({ error: 'Project not found' }),
  /** One instance's backups (it may be gone). */
  instanceId: z.uuid({ error: 'Instance not found' }).optional(),
  /** Part of the backup's name or its instance's name, or the start of its id. */
  search: z.string().trim().max(200).optional(),
  status: backupStatusSchema.optional(),
  type: backupTypeSchema.optional(),
  sort: z.enum(backupListSorts).default('created'),
  order: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(25),
});
export type BackupListOptions = z.output<typeof backupListInput>;

export const backupPageSchema = z.object({
  items: z.array(backupViewSchema),
  /** How many backups match (every page). */
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
  /** Bytes stored by the completed backups of the project (of the instance), whatever the filters. */
  storedBytes: z.number(),
});

const ORDER_OF: Record<
  BackupListOptions['sort'],
  (order: 'asc' | 'desc') => Prisma.BackupOrderByWithRelationInput
> = {
  created: (order) => ({ createdAt: order }),
  name: (order) => ({ name: order }),
  instance: (order) => ({ instanceName: order }),
  size: (order) => ({ sizeBytes: { sort: order, nulls: 'last' } }),
};

/** One page of the project's backups (`db` scoped to the project; the filter names it too). */
export async function listBackupPage(
  db: PrismaClient,
  projectId: string,
  input: BackupListOptions,
): Promise<z.infer<typeof backupPageSchema>> {
  const scope: Prisma.BackupWhereInput = {
    projectId,
    ...(input.instanceId ? { instanceId: input.instanceId } : {}),
  };
  const and: Prisma.BackupWhereInput[] = [scope];
  if (input.status) and.push({ status: input.status });
  if (input.type) and.push({ type: input.type });
  if (input.search) {
    const text = { contains: input.search, mode: 'insensitive' as const };
    const idRange = idRangeOf(input.search);
    and.push({
      OR: [{ name: text }, { instanceName: text }, ...(idRange ? [{ id: idRange }] : [])],
    });
  }
  const where: Prisma.BackupWhereInput = { AND: and };
  const orderBy: Prisma.BackupOrderByWithRelationInput[] = [
    ORDER_OF[input.sort](input.order),
    ...(input.sort === 'created' ? [] : [{ createdAt: 'desc' as const }]),
    { id: 'asc' },
  ];
  const [rows, total, stored] = await Promise.all([
    db.backup.findMany({
      where,
      select: backupSelect,
      orderBy,
      skip: (input.page - 1) * input.pageSize,
      take: input.pageSize,
    }),
    db.backup.count({ where }),
    db.backup.aggregate({
      where: { ...scope, status: 'COMPLETED' },
      _sum: { sizeBytes: true },
    }),
  ]);
  return {
    items: rows.map(toBackupView),
    total,
    page: input.page,
    pageSize: input.pageSize,
    storedBytes: Number(stored._sum.sizeBytes ?? 0),
  };
}
