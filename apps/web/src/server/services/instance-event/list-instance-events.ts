import 'server-only';

import { AppError, instanceEventKindSchema, instanceEventKinds } from '@coffer/contracts';
import { z } from 'zod';

import { type ProjectScopedDb } from '~/server/tenancy';

/**
 * An instance's event timeline: what happened to it unasked (its database server or guest
 * died and was started again, or kept dying), newest first. Written by the conductor and the
 * watchdog; read here through the project-scoped client, so another project's instance is
 * "not found".
 */

export const listInstanceEventsInput = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
  limit: z.number().int().min(1).max(100).default(50),
});

export const instanceEventViewSchema = z.object({
  id: z.string(),
  kind: instanceEventKindSchema,
  message: z.string(),
  createdAt: z.date(),
});
export type InstanceEventView = z.infer<typeof instanceEventViewSchema>;

export async function listInstanceEvents(
  db: ProjectScopedDb,
  input: z.output<typeof listInstanceEventsInput>,
): Promise<InstanceEventView[]> {
  const instance = await db.instance.findFirst({
    where: { id: input.instanceId, deletedAt: null },
    select: { id: true },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  const rows = await db.instanceEvent.findMany({
    // Only what happened unasked: the timeline's other entries (status changes, backups, …,
    // recorded by the database) are timeline.instance's (services/timeline).
    where: { instanceId: instance.id, kind: { in: [...instanceEventKinds] } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: input.limit,
    select: { id: true, kind: true, message: true, createdAt: true },
  });
  // A kind this version does not know (written by a newer one) is left out rather than failing the list.
  return rows.flatMap((row) => {
    const kind = instanceEventKindSchema.safeParse(row.kind);
    return kind.success ? [{ ...row, kind: kind.data }] : [];
  });
}
