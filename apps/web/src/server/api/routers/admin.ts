import { z } from 'zod';

import { adminProcedure, createTRPCRouter } from '~/server/api/trpc';
import { changeFeed } from '~/server/events';
import {
  adminInstanceListInput,
  adminInstancePageSchema,
  adminInstanceViewSchema,
  forceDeleteInstance,
  listAllInstances,
  resetInstanceStatus,
} from '~/server/services/admin/admin-instances';
import {
  listProjectsWithQuotas,
  quotaNameSchema,
  setProjectQuota,
} from '~/server/services/admin/project-quotas';
import {
  discardFailedJob,
  getQueueOverview,
  queueOverviewSchema,
  retryFailedJob,
} from '~/server/services/admin/taskmanager-queue';
import { listWorkerRoles, workerRoleViewSchema } from '~/server/services/admin/worker-roles';
import {
  auditPageInput,
  auditPageSchema,
  listAuditEvents,
} from '~/server/services/audit/list-audit-events';
import { adminFlavorProcedures } from './admin-flavors';
import { projectQuotasSchema } from './quota';

const instanceIdInput = z.object({ instanceId: z.uuid({ error: 'Instance not found' }) });
const jobIdInput = z.object({ jobId: z.string().min(1).max(300) });
const okOutput = z.object({ ok: z.literal(true) });

/** Operators' views and tools across every project (Trove's admin API). */
export const adminRouter = createTRPCRouter({
  /** Every project's instances: search, filter (status, project), sort and a page, on the server. */
  instances: adminProcedure
    .input(adminInstanceListInput.optional())
    .output(adminInstancePageSchema)
    .query(({ ctx, input }) => listAllInstances(ctx.db, input)),

  /** Which instance changed, in any project, as it happens (the admin views re-read on each). */
  onInstanceChange: adminProcedure.subscription(async function* ({ signal }) {
    for await (const event of changeFeed.listen(signal)) {
      if (event.type === 'instance.changed' || event.type === 'instance.deleted') {
        yield { instanceId: event.instanceId, projectId: event.projectId };
      }
    }
  }),

  /** Trove's reset_status: task NONE, service status from the next heartbeat, fault cleared. */
  resetStatus: adminProcedure
    .input(instanceIdInput)
    .output(adminInstanceViewSchema)
    .mutation(({ ctx, input }) => resetInstanceStatus(ctx, input.instanceId)),

  /** Delete whatever the instance is doing; the row goes even when its server is gone. */
  forceDelete: adminProcedure
    .input(instanceIdInput)
    .output(adminInstanceViewSchema)
    .mutation(({ ctx, input }) => forceDeleteInstance(ctx, input.instanceId)),

  queue: adminProcedure.output(queueOverviewSchema).query(({ ctx }) => getQueueOverview(ctx.db)),

  /** Each worker role: up, or down since when (what the worker processes say in Redis). */
  workerRoles: adminProcedure.output(z.array(workerRoleViewSchema)).query(() => listWorkerRoles()),

  retryJob: adminProcedure
    .input(jobIdInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await retryFailedJob(ctx, input.jobId);
      return { ok: true as const };
    }),

  discardJob: adminProcedure
    .input(jobIdInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await discardFailedJob(ctx, input.jobId);
      return { ok: true as const };
    }),

  projects: adminProcedure
    .output(
      z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          createdAt: z.date(),
          memberCount: z.number(),
          quotas: projectQuotasSchema,
        }),
      ),
    )
    .query(({ ctx }) => listProjectsWithQuotas(ctx.db)),

  /** Overrides one quota of a project (-1: unlimited); null goes back to the default. */
  setQuota: adminProcedure
    .input(
      z.object({
        projectId: z.uuid({ error: 'Project not found' }),
        resource: quotaNameSchema,
        hardLimit: z
          .number()
          .int('A quota is a whole number')
          .min(-1, 'A quota is at least 0, or -1 for unlimited')
          .max(1_000_000, 'A quota is at most 1000000')
          .nullable(),
      }),
    )
    .output(projectQuotasSchema)
    .mutation(({ ctx, input }) => setProjectQuota(ctx, input)),

  auditEvents: adminProcedure
    .input(auditPageInput.extend({ projectId: z.uuid().nullish() }))
    .output(auditPageSchema)
    .query(({ ctx, input }) => listAuditEvents(ctx.db, input)),

  /** flavors, createFlavor, updateFlavor (admin-flavors.ts). */
  ...adminFlavorProcedures,
});
