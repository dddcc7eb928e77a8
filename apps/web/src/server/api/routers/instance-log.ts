import {
  logInfoSchema,
  logNameSchema,
  logShowParamsSchema,
  logShowResultSchema,
  publishedLogSchema,
} from '@coffer/contracts';
import { z } from 'zod';

import { instanceProcedure, instanceWriteProcedure } from '~/server/api/instance-procedures';
import { createTRPCRouter } from '~/server/api/trpc';
import {
  downloadLog,
  listLogs,
  listPublishedLogs,
  publishLog,
  setLogEnabled,
  showLog,
} from '~/server/services/instance-log/manage-logs';

const logRefSchema = z.object({ name: logNameSchema });

/**
 * An instance's database logs (Trove's log-list, log-enable, log-disable, log-show,
 * log-publish). Members read them; owners and members switch and publish them. Everything
 * returned has password statements masked by the guest.
 */
export const instanceLogRouter = createTRPCRouter({
  list: instanceProcedure
    .output(z.array(logInfoSchema))
    .query(({ ctx, input }) => listLogs(ctx.projectScope, input.instanceId)),

  enable: instanceWriteProcedure
    .input(logRefSchema)
    .output(logInfoSchema)
    .mutation(({ ctx, input }) =>
      setLogEnabled(ctx.projectScope, input.instanceId, input.name, true),
    ),

  disable: instanceWriteProcedure
    .input(logRefSchema)
    .output(logInfoSchema)
    .mutation(({ ctx, input }) =>
      setLogEnabled(ctx.projectScope, input.instanceId, input.name, false),
    ),

  show: instanceProcedure
    .input(logShowParamsSchema.partial({ lines: true }))
    .output(logShowResultSchema)
    .query(({ ctx, input }) =>
      showLog(ctx.projectScope, input.instanceId, {
        name: input.name,
        lines: input.lines,
        search: input.search || undefined,
        after: input.after,
      }),
    ),

  /** The masked log as text (its last 8 MiB at most), for the console's Download. */
  download: instanceProcedure
    .input(logRefSchema)
    .output(z.object({ fileName: z.string(), text: z.string(), isTruncated: z.boolean() }))
    .query(({ ctx, input }) => downloadLog(ctx.projectScope, input.instanceId, input.name)),

  publish: instanceWriteProcedure
    .input(logRefSchema)
    .output(publishedLogSchema)
    .mutation(({ ctx, input }) => publishLog(ctx.projectScope, input.instanceId, input.name)),

  published: instanceProcedure
    .output(z.array(publishedLogSchema))
    .query(({ ctx, input }) => listPublishedLogs(ctx.projectScope, input.instanceId)),
});
