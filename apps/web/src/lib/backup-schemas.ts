import { backupTypeSchema, displayNameSchema } from '@coffer/contracts';
import { z } from 'zod';

/** Input rules of backups, shared by the console's forms and the procedures. */

export const BACKUP_NAME_MAX = 100;
export const backupNameSchema = displayNameSchema('Name', BACKUP_NAME_MAX);

export const createBackupInputSchema = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
  /**
   * By default what the instance's datastore version backs up with (physical full, or
   * logical); INCREMENTAL is based on `parentId`, else on the instance's newest completed
   * physical backup.
   */
  type: backupTypeSchema.optional(),
  name: backupNameSchema.optional(),
  parentId: z.uuid({ error: 'Backup not found' }).optional(),
});
export type CreateBackupInput = z.input<typeof createBackupInputSchema>;

export const backupRefInputSchema = z.object({ backupId: z.uuid({ error: 'Backup not found' }) });

export const deleteBackupInputSchema = backupRefInputSchema.extend({
  /** Also delete every backup built on this one (its incrementals, and theirs). */
  includeDependents: z.boolean().default(false),
});

/** Intervals the console offers (minutes); scripts may use any value within the bounds. */
export const SCHEDULE_INTERVALS = [
  { minutes: 60, label: 'Every hour' },
  { minutes: 6 * 60, label: 'Every 6 hours' },
  { minutes: 12 * 60, label: 'Every 12 hours' },
  { minutes: 24 * 60, label: 'Every day' },
  { minutes: 7 * 24 * 60, label: 'Every week' },
] as const;

export const backupScheduleInputSchema = z
  .object({
    instanceId: z.uuid({ error: 'Instance not found' }),
    isEnabled: z.boolean().default(true),
    /** FULL (physical; incrementals may follow) or LOGICAL. */
    fullType: z
      .enum(['FULL', 'LOGICAL'], { error: 'Choose a full or a logical backup' })
      .default('FULL'),
    fullIntervalMinutes: z
      .number({ error: 'Choose how often' })
      .int()
      .min(60, 'A full backup can run at most every hour')
      .max(31 * 24 * 60, 'A full backup must run at least every 31 days'),
    incrementalIntervalMinutes: z
      .number()
      .int()
      .min(15, 'An incremental backup can run at most every 15 minutes')
      .max(7 * 24 * 60, 'An incremental backup must run at least every week')
      .nullable()
      .default(null),
    retainFullCount: z
      .number({ error: 'Say how many to keep' })
      .int()
      .min(1, 'Keep at least one full backup')
      .max(100, 'Keep at most 100 full backups'),
  })
  .superRefine((input, ctx) => {
    if (input.incrementalIntervalMinutes === null) return;
    if (input.fullType !== 'FULL') {
      ctx.addIssue({
        code: 'custom',
        path: ['incrementalIntervalMinutes'],
        message: 'Incremental backups follow physical full backups only',
      });
    } else if (input.incrementalIntervalMinutes >= input.fullIntervalMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['incrementalIntervalMinutes'],
        message: 'Incremental backups must run more often than full ones',
      });
    }
  });
export type BackupScheduleInput = z.input<typeof backupScheduleInputSchema>;
