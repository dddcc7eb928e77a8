import { z } from 'zod';

import { createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import { getProjectQuotas } from '~/server/services/quota/quota';

export const quotaUsageSchema = z.object({
  inUse: z.number(),
  limit: z.number(),
  isOverride: z.boolean(),
});
export const projectQuotasSchema = z.object({
  instances: quotaUsageSchema,
  volumeGb: quotaUsageSchema,
  backups: quotaUsageSchema,
});

/** What the project uses of its quotas (limit -1: unlimited). */
export const quotaRouter = createTRPCRouter({
  get: projectProcedure
    .output(projectQuotasSchema)
    .query(({ ctx }) => getProjectQuotas(ctx.db, ctx.project.id)),
});
