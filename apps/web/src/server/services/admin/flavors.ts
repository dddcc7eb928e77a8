import 'server-only';

import { AppError } from '@coffer/contracts';
import { Prisma, type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type createFlavorInputSchema, type updateFlavorInputSchema } from '~/lib/resize-schemas';
import { type AuditTarget } from '~/server/services/audit/record-audit-event';
import { flavorViewSchema, flavorViewSelect } from '~/server/services/catalog/flavor-view';

/**
 * Operators' flavors (Admin → Flavors; Nova's flavor management): every flavor, disabled ones
 * too, with how many live instances have it. A flavor is never deleted (instances keep their
 * flavor): it is disabled, and then no create or resize may choose it. A change of vCPUs or
 * RAM applies to new instances and to resizes; running instances keep the size they were
 * given until they are resized.
 */

export const adminFlavorViewSchema = flavorViewSchema.extend({
  isDisabled: z.boolean(),
  instanceCount: z.number(),
});
export type AdminFlavorView = z.infer<typeof adminFlavorViewSchema>;

const flavorSelect = {
  ...flavorViewSelect,
  isDisabled: true,
  _count: { select: { instances: { where: { deletedAt: null } } } },
} as const satisfies Prisma.FlavorSelect;

function toView({
  _count,
  ...flavor
}: Prisma.FlavorGetPayload<{ select: typeof flavorSelect }>): AdminFlavorView {
  return { ...flavor, instanceCount: _count.instances };
}

export async function listFlavors(db: PrismaClient): Promise<AdminFlavorView[]> {
  const rows = await db.flavor.findMany({
    select: flavorSelect,
    orderBy: [{ isDisabled: 'asc' }, { ramMb: 'asc' }, { name: 'asc' }],
  });
  return rows.map(toView);
}

function nameTaken(): AppError {
  const message = 'A flavor with this name already exists';
  return new AppError('CONFLICT', message, { details: { fieldErrors: { name: [message] } } });
}

export async function createFlavor(
  ctx: { db: PrismaClient; audit: AuditTarget },
  input: z.output<typeof createFlavorInputSchema>,
): Promise<AdminFlavorView> {
  try {
    const row = await ctx.db.flavor.create({ data: input, select: flavorSelect });
    ctx.audit.resourceId = row.id;
    return toView(row);
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
      throw nameTaken();
    throw error;
  }
}

export async function updateFlavor(
  ctx: { db: PrismaClient; audit: AuditTarget },
  { flavorId, ...changes }: z.output<typeof updateFlavorInputSchema>,
): Promise<AdminFlavorView> {
  ctx.audit.resourceId = flavorId;
  const current = await ctx.db.flavor.findUnique({
    where: { id: flavorId },
    select: { defaultVolumeGb: true, maxVolumeGb: true },
  });
  if (!current) throw new AppError('NOT_FOUND', 'Flavor not found');
  const defaultVolumeGb = changes.defaultVolumeGb ?? current.defaultVolumeGb;
  const maxVolumeGb = changes.maxVolumeGb ?? current.maxVolumeGb;
  if (defaultVolumeGb > maxVolumeGb) {
    const message = `The default volume (${defaultVolumeGb} GB) must not be larger than the maximum (${maxVolumeGb} GB)`;
    throw new AppError('BAD_REQUEST', message, {
      details: {
        fieldErrors: {
          [changes.maxVolumeGb !== undefined ? 'maxVolumeGb' : 'defaultVolumeGb']: [message],
        },
      },
    });
  }
  const row = await ctx.db.flavor.update({
    where: { id: flavorId },
    data: changes,
    select: flavorSelect,
  });
  return toView(row);
}
