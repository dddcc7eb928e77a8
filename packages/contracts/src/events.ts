import { z } from 'zod';

/**
 * Change events the conductor and the taskmanager publish (Redis pub/sub, after commit) for
 * the console. They carry ids only: the web app re-reads the row through the tenant's
 * project-scoped query, and drops events of other projects before anything reaches a browser.
 */
export const EVENTS_CHANNEL = 'coffer:events';

export const changeEventSchema = z.object({
  type: z.enum(['instance.changed', 'instance.deleted']),
  projectId: z.uuid(),
  instanceId: z.uuid(),
  /** Milliseconds since the epoch. */
  at: z.number().int(),
});
export type ChangeEvent = z.infer<typeof changeEventSchema>;
