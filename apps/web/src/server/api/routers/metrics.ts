import { adminProcedure, createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import {
  alertSchema,
  instanceAlerts,
  projectAlerts,
  projectAlertsSchema,
} from '~/server/services/metrics/alerts';
import {
  instanceMetricsInput,
  instanceMetricsSchema,
  readInstanceMetrics,
} from '~/server/services/metrics/instance-metrics';
import {
  busiestInput,
  busiestSchema,
  projectMetricsSchema,
  readBusiestInstances,
  readProjectMetrics,
} from '~/server/services/metrics/project-metrics';
import { z } from 'zod';

/** Instances' metrics (issue 16): charts, the instance list's sparklines, operators' busiest. */
export const metricsRouter = createTRPCRouter({
  instance: projectProcedure
    .input(instanceMetricsInput)
    .output(instanceMetricsSchema)
    .query(({ ctx, input }) => readInstanceMetrics(ctx.db, input)),

  project: projectProcedure
    .output(projectMetricsSchema)
    .query(({ ctx }) => readProjectMetrics(ctx.db)),

  busiest: adminProcedure
    .input(busiestInput.optional())
    .output(busiestSchema)
    .query(({ ctx, input }) => readBusiestInstances(ctx.db, input?.limit ?? 10)),
});

/** Instances that need attention (issue 16, part 5; the rule: services/metrics/alerts.ts). */
export const alertsRouter = createTRPCRouter({
  instance: projectProcedure
    .input(z.object({ instanceId: z.uuid({ error: 'Instance not found' }) }))
    .output(z.array(alertSchema))
    .query(({ ctx, input }) => instanceAlerts(ctx.db, input.instanceId)),

  project: projectProcedure.output(projectAlertsSchema).query(({ ctx }) => projectAlerts(ctx.db)),
});
