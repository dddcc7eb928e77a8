import { z } from 'zod';

/**
 * Change events the conductor and the taskmanager publish (Redis pub/sub, after commit) for
 * the console. They carry ids only: the web app re-reads the row through the tenant's
 * project-scoped query, and drops events of other projects before anything reaches a browser.
 */
export const EVENTS_CHANNEL = 'coffer:events';

export const changeEventSchema = z.object({
  /** `instance.metrics`: a new metrics sample of the instance was stored (at most one per sample). */
  type: z.enum([
    'instance.changed',
    'instance.deleted',
    'instance.metrics',
    'backup.changed',
    'backup.deleted',
  ]),
  projectId: z.uuid(),
  /** For backup events: the backup's source instance (which may be gone by now). */
  instanceId: z.uuid(),
  /** Backup events only. */
  backupId: z.uuid().optional(),
  /** Milliseconds since the epoch. */
  at: z.number().int(),
});
export type ChangeEvent = z.infer<typeof changeEventSchema>;
