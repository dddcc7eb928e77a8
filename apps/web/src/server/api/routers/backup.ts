import { backupTypeSchema } from '@coffer/contracts';
import { tracked } from '@trpc/server';
import { z } from 'zod';

import {
  backupRefInputSchema,
  backupScheduleInputSchema,
  createBackupInputSchema,
  deleteBackupInputSchema,
} from '~/lib/backup-schemas';
import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
import { changeFeed } from '~/server/events';
import {
  backupSelect,
  backupViewSchema,
  toBackupView,
  type BackupView,
} from '~/server/services/backup/backup-view';
import {
  deleteBackupSchedule,
  getBackupSchedule,
  setBackupSchedule,
} from '~/server/services/backup/backup-schedule';
import { restoreNeededVolumeGb } from '~/server/services/backup/restore-size';
import {
  createBackup,
  deleteBackup,
  getBackup,
  listBackups,
} from '~/server/services/backup/manage-backups';
import {
  backupListInput,
  backupPageSchema,
  listBackupPage,
} from '~/server/services/backup/list-backups';
import { domainDb } from '~/server/services/domain-db';

const instanceFilter = z.object({ instanceId: z.uuid({ error: 'Instance not found' }).optional() });
const instanceInput = z.object({ instanceId: z.uuid({ error: 'Instance not found' }) });

const scheduleViewSchema = z.object({
  instanceId: z.string(),
  isEnabled: z.boolean(),
  fullType: backupTypeSchema,
  fullIntervalMinutes: z.number(),
  incrementalIntervalMinutes: z.number().nullable(),
  retainFullCount: z.number(),
  nextFullAt: z.date(),
  nextIncrementalAt: z.date().nullable(),
  lastRunAt: z.date().nullable(),
  lastError: z.string().nullable(),
});

/** What the live subscription sends: a backup as it is now, or the news that it is gone. */
export type BackupChange =
  { type: 'changed'; backup: BackupView } | { type: 'deleted'; backupId: string };

/**
 * Backups (Trove's backups API) and per-instance schedules. Members list and read; owners and
 * members create, delete and schedule. Restoring is `instance.create` with
 * `restoreFromBackupId`. Another project's backup is "not found".
 */
export const backupRouter = createTRPCRouter({
  /** The project's backups, newest first; of one instance (which may be gone) with `instanceId`. */
  list: projectProcedure
    .input(instanceFilter)
    .output(z.array(backupViewSchema))
    .query(({ ctx, input }) => listBackups(ctx, { instanceId: input.instanceId })),

  /** One page of the project's (an instance's) backups: searched, filtered, sorted on the server. */
  listPage: projectProcedure
    .input(backupListInput)
    .output(backupPageSchema)
    .query(({ ctx, input }) => listBackupPage(domainDb(ctx.db), ctx.project.id, input)),

  get: projectProcedure
    .input(backupRefInputSchema)
    .output(backupViewSchema)
    .query(({ ctx, input }) => getBackup(ctx, input.backupId)),

  /** The smallest volume (GB) a restore of this backup may ask for. */
  restoreNeeds: projectProcedure
    .input(backupRefInputSchema)
    .output(z.object({ neededVolumeGb: z.number() }))
    .query(async ({ ctx, input }) => ({
      neededVolumeGb: await restoreNeededVolumeGb(ctx.db, input.backupId),
    })),

  create: projectWriteProcedure
    .input(createBackupInputSchema)
    .output(backupViewSchema)
    .mutation(({ ctx, input }) => createBackup(ctx.projectScope, input)),

  delete: projectWriteProcedure
    .input(deleteBackupInputSchema)
    .output(backupViewSchema)
    .mutation(({ ctx, input }) => deleteBackup(ctx.projectScope, input)),

  schedule: projectProcedure
    .input(instanceInput)
    .output(scheduleViewSchema.nullable())
    .query(({ ctx, input }) => getBackupSchedule(ctx.db, input.instanceId)),

  setSchedule: projectWriteProcedure
    .input(backupScheduleInputSchema)
    .output(scheduleViewSchema)
    .mutation(({ ctx, input }) => setBackupSchedule(ctx.db, ctx.project.id, input)),

  deleteSchedule: projectWriteProcedure
    .input(instanceInput)
    .output(z.object({ instanceId: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await deleteBackupSchedule(ctx.db, input.instanceId);
      return { instanceId: input.instanceId };
    }),

  /**
   * Live changes of this project's backups (all, or one instance's), over SSE: status and
   * progress as the conductor applies them. Events of other projects are dropped here; each
   * changed backup is re-read through the project's scoped client. A (re)connecting client
   * first gets every backup as it is now.
   */
  onChange: projectProcedure.input(instanceFilter).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const events = changeFeed.listen(signal);
    const snapshot = await ctx.db.backup.findMany({
      where: input.instanceId ? { instanceId: input.instanceId } : {},
      select: backupSelect,
      orderBy: { createdAt: 'desc' },
      take: 1000,
    });
    let sequence = 0;
    for (const row of snapshot)
      yield tracked(String(++sequence), {
        type: 'changed',
        backup: toBackupView(row),
      } as BackupChange);
    for await (const event of events) {
      if (
        event.projectId !== ctx.project.id ||
        !event.backupId ||
        !event.type.startsWith('backup.')
      )
        continue;
      if (input.instanceId && event.instanceId !== input.instanceId) continue;
      const row = await ctx.db.backup.findFirst({
        where: { id: event.backupId },
        select: backupSelect,
      });
      const change: BackupChange = row
        ? { type: 'changed', backup: toBackupView(row) }
        : { type: 'deleted', backupId: event.backupId };
      yield tracked(String(++sequence), change);
    }
  }),
});
