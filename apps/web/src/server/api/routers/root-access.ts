import { instanceRefInputSchema } from '~/lib/database-schemas';
import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
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
  get: projectProcedure
    .input(instanceRefInputSchema)
    .output(rootStatusSchema)
    .query(({ ctx, input }) => getRootStatus(ctx, input.instanceId)),

  enable: projectWriteProcedure
    .input(instanceRefInputSchema)
    .output(enabledRootSchema)
    .mutation(({ ctx, input }) =>
      enableRoot({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),

  disable: projectWriteProcedure
    .input(instanceRefInputSchema)
    .output(rootStatusSchema)
    .mutation(({ ctx, input }) =>
      disableRoot({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),
});
