import { z } from 'zod';

import { createReplicasInputSchema, replicaActionInputSchema } from '~/lib/replica-schemas';
import { createTRPCRouter, projectWriteProcedure } from '~/server/api/trpc';
import { instanceViewSchema } from '~/server/services/instance/instance-view';
import {
  createReplicas,
  detachReplica,
  ejectSource,
  promoteReplica,
} from '~/server/services/replica/manage-replicas';

/**
 * Replication (Trove's replica_of, promote_to_replica_source, eject_replica_source,
 * detach_replica). Replicas are instances, listed and read with `instance.*`; these change
 * the topology. Owners and members only (viewers read); another project's instance is "not
 * found". Each answers at once with the instances involved in their new task; the rest is
 * pushed over `instance.onChange`.
 */
export const replicaRouter = createTRPCRouter({
  /** Creates `count` replicas of an ACTIVE instance from one snapshot of it. */
  create: projectWriteProcedure
    .input(createReplicasInputSchema)
    .output(z.array(instanceViewSchema))
    .mutation(({ ctx, input }) => createReplicas(ctx.projectScope, input)),

  /** Makes a replica the source while its source is alive; the old source and the other replicas follow it. */
  promote: projectWriteProcedure
    .input(replicaActionInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) => promoteReplica(ctx.projectScope, input.instanceId)),

  /** A source that is gone: its most advanced replica becomes the source, the others follow it. */
  eject: projectWriteProcedure
    .input(replicaActionInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) => ejectSource(ctx.projectScope, input.instanceId)),

  /** Makes a replica a standalone, writable instance. */
  detach: projectWriteProcedure
    .input(replicaActionInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) => detachReplica(ctx.projectScope, input.instanceId)),
});
