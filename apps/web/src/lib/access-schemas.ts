import { accessInputSchema } from '@coffer/contracts';
import { z } from 'zod';

/**
 * `instance.setAccess`: an instance's allowed sources (Trove's `access: {is_public,
 * allowed_cidrs}`), checked by the contracts' rule (`accessInputSchema`: CIDRs, at most 100,
 * nothing public on a private instance) before anything changes.
 */
export const setAccessInputSchema = z
  .object({ instanceId: z.uuid({ error: 'Instance not found' }) })
  .and(accessInputSchema);
export type SetAccessInput = z.input<typeof setAccessInputSchema>;
