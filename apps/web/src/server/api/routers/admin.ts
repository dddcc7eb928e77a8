import { z } from 'zod';

import { adminProcedure, createTRPCRouter } from '~/server/api/trpc';
import { instanceSelect, instanceViewSchema, toInstanceView } from '~/server/services/instance/instance-view';

/** Operators' views across every project (Trove's admin API). */
export const adminRouter = createTRPCRouter({
  instances: adminProcedure
    .output(z.array(instanceViewSchema.extend({ project: z.object({ id: z.string(), name: z.string() }) })))
    .query(async ({ ctx }) => {
      const rows = await ctx.db.instance.findMany({
        where: { deletedAt: null },
        select: { ...instanceSelect, project: { select: { id: true, name: true } } },
        orderBy: { createdAt: 'desc' },
      });
      const now = new Date();
      return rows.map(({ project, ...row }) => ({ ...toInstanceView(row, now), project }));
    }),
});
