import { z } from 'zod';

import { createTRPCRouter, protectedProcedure } from '~/server/api/trpc';
import { flavorViewSchema, flavorViewSelect } from '~/server/services/catalog/flavor-view';

/** What can be ordered: flavors and datastore versions (not tenant data; the same for all). */
export const catalogRouter = createTRPCRouter({
  flavors: protectedProcedure.output(z.array(flavorViewSchema)).query(({ ctx }) =>
    ctx.db.flavor.findMany({
      where: { isDisabled: false },
      select: flavorViewSelect,
      orderBy: [{ ramMb: 'asc' }, { name: 'asc' }],
    }),
  ),

  datastoreVersions: protectedProcedure
    .output(
      z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          version: z.string(),
          isDefault: z.boolean(),
          datastore: z.object({ name: z.string() }),
        }),
      ),
    )
    .query(({ ctx }) =>
      ctx.db.datastoreVersion.findMany({
        where: { isActive: true },
        select: {
          id: true,
          name: true,
          version: true,
          isDefault: true,
          datastore: { select: { name: true } },
        },
        orderBy: [{ isDefault: 'desc' }, { name: 'desc' }],
      }),
    ),
});
