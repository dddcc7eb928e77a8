import { instanceProcedure, instanceWriteProcedure } from '~/server/api/instance-procedures';
import { createTRPCRouter } from '~/server/api/trpc';
import {
  disableRoot,
  enabledRootSchema,
  enableRoot,
  getRootStatus,
  rootStatusSchema,
} from '~/server/services/database/manage-root';

/**
 * Root on an instance (Trove's root API): whether it is enabled and whether it ever was,
 * enable (a generated password, returned once), disable. Members read; owners and members
 * change.
 */
export const rootAccessRouter = createTRPCRouter({
  get: instanceProcedure
    .output(rootStatusSchema)
    .query(({ ctx, input }) => getRootStatus(ctx, input.instanceId)),

  enable: instanceWriteProcedure
    .output(enabledRootSchema)
    .mutation(({ ctx, input }) => enableRoot(ctx.projectScope, input.instanceId)),

  disable: instanceWriteProcedure
    .output(rootStatusSchema)
    .mutation(({ ctx, input }) => disableRoot(ctx.projectScope, input.instanceId)),
});
