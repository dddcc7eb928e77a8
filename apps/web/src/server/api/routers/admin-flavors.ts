import { z } from 'zod';

import { createFlavorInputSchema, updateFlavorInputSchema } from '~/lib/resize-schemas';
import { adminProcedure } from '~/server/api/trpc';
import {
  adminFlavorViewSchema,
  createFlavor,
  listFlavors,
  updateFlavor,
} from '~/server/services/admin/flavors';

/**
 * Operators manage flavors (issue 13), spread into `admin`: `admin.flavors`,
 * `admin.createFlavor`, `admin.updateFlavor` (vCPUs, RAM, default and maximum volume, disable).
 */
export const adminFlavorProcedures = {
  flavors: adminProcedure
    .output(z.array(adminFlavorViewSchema))
    .query(({ ctx }) => listFlavors(ctx.db)),

  createFlavor: adminProcedure
    .input(createFlavorInputSchema)
    .output(adminFlavorViewSchema)
    .mutation(({ ctx, input }) => createFlavor(ctx, input)),

  updateFlavor: adminProcedure
    .input(updateFlavorInputSchema)
    .output(adminFlavorViewSchema)
    .mutation(({ ctx, input }) => updateFlavor(ctx, input)),
};
