import {
  logInfoSchema,
  logNameSchema,
  logShowParamsSchema,
  logShowResultSchema,
  MAX_LOG_CAP_BYTES,
  MAX_LOG_TAIL_LINES,
  MIN_LOG_CAP_BYTES,
  projectPublishedLogSchema,
  publishedLogSchema,
} from '@coffer/contracts';
import { z } from 'zod';

import { instanceProcedure, instanceWriteProcedure } from '~/server/api/instance-procedures';
import { createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import {
  downloadLog,
  downloadPublishedLog,
  listLogs,
  listProjectPublishedLogs,
  listPublishedLogs,
  publishLog,
  setLogCap,
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

  /** Sets a log's cap in bytes (the log with its rotated files), or with null, the default. */
  setCap: instanceWriteProcedure
    .input(
      logRefSchema.extend({
        capBytes: z.number().int().min(MIN_LOG_CAP_BYTES).max(MAX_LOG_CAP_BYTES).nullable(),
      }),
    )
    .output(logInfoSchema)
    .mutation(({ ctx, input }) =>
      setLogCap(ctx.projectScope, input.instanceId, input.name, input.capBytes),
    ),

  show: instanceProcedure
    .input(logShowParamsSchema.omit({ fromOffset: true, fileId: true }).partial({ lines: true }))
    .output(logShowResultSchema)
    .query(({ ctx, input }) =>
      showLog(ctx.projectScope, input.instanceId, {
        name: input.name,
        lines: input.lines,
        search: input.search || undefined,
        after: input.after,
      }),
    ),

  /**
   * A live tail by offset: without `fromOffset`, the last `lines` lines and where they end;
   * with it (a previous answer's `offset` and `fileId`), the lines written since, oldest first
   * (`hasMore`: ask again at once; `isRestarted`: the log was rotated, these are the new
   * file's).
   */
  tail: instanceProcedure
    .input(
      z.object({
        name: logNameSchema,
        fromOffset: z.number().int().nonnegative().optional(),
        fileId: z.string().max(64).optional(),
        lines: z.number().int().min(1).max(MAX_LOG_TAIL_LINES).default(500),
      }),
    )
    .output(logShowResultSchema)
    .query(({ ctx, input }) =>
      showLog(ctx.projectScope, input.instanceId, {
        name: input.name,
        ...(input.fromOffset === undefined
          ? { lines: input.lines }
          : { fromOffset: input.fromOffset, fileId: input.fileId }),
      }),
    ),

  /** The whole masked log as text, rotated files first (its last 16 MiB at most), for the console's Download. */
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

  /** The project's published logs, its deleted instances' too. */
  projectPublished: projectProcedure
    .output(
      z.array(
        projectPublishedLogSchema.extend({
          instanceName: z.string().nullable(),
          isInstanceDeleted: z.boolean(),
        }),
      ),
    )
    .query(({ ctx }) => listProjectPublishedLogs(ctx.projectScope)),

  /** A published log, decrypted by Coffer (the instance may be gone): its masked text. */
  downloadPublished: projectProcedure
    .input(z.object({ object: z.string().min(1).max(500) }))
    .output(z.object({ fileName: z.string(), text: z.string() }))
    .query(({ ctx, input }) => downloadPublishedLog(ctx.projectScope, input.object)),
});
