import { instanceNameSchema, MAX_REPLICAS_PER_REQUEST } from '@coffer/contracts';
import { z } from 'zod';

/** Input rules of replication, shared by the console's forms and the procedures. */

export const createReplicasInputSchema = z.object({
  /** The instance to replicate (Trove's `replica_of`): ACTIVE, and not a replica itself. */
  sourceInstanceId: z.uuid({ error: 'Instance not found' }),
  /** How many replicas (Trove's `replica_count`), made from one snapshot of the source. */
  count: z
    .number()
    .int()
    .min(1, 'At least one replica')
    .max(MAX_REPLICAS_PER_REQUEST, `At most ${MAX_REPLICAS_PER_REQUEST} replicas at once`)
    .default(1),
  /** The replica's name (one replica), or the names' stem (`<name>-1`, `<name>-2`…); `<source>-replica` by default. */
  name: instanceNameSchema.optional(),
  /** The replicas' configuration group; the source's when left out. */
  configurationGroupId: z.uuid({ error: 'Configuration group not found' }).optional(),
});
export type CreateReplicasInput = z.input<typeof createReplicasInputSchema>;

export const replicaActionInputSchema = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
});
