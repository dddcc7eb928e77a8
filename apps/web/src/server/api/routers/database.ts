import { databaseInfoSchema } from '@coffer/contracts';
import { z } from 'zod';

import { createDatabaseInputSchema, databaseRefInputSchema } from '~/lib/database-schemas';
import { instanceProcedure, instanceWriteProcedure } from '~/server/api/instance-procedures';
import { createTRPCRouter } from '~/server/api/trpc';
import {
  createDatabase,
  deleteDatabase,
  listDatabases,
} from '~/server/services/database/manage-databases';

/** The databases inside an instance (Trove's databases API). Members list; owners and members change. */
export const databaseRouter = createTRPCRouter({
  list: instanceProcedure
    .output(z.array(databaseInfoSchema))
    .query(({ ctx, input }) => listDatabases(ctx.projectScope, input.instanceId)),

  create: instanceWriteProcedure
    .input(createDatabaseInputSchema)
    .output(databaseInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, characterSet, collation } = input;
      return createDatabase(ctx.projectScope, instanceId, {
        name,
        characterSet,
        collation,
      });
    }),

  delete: instanceWriteProcedure
    .input(databaseRefInputSchema)
    .output(z.object({ name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await deleteDatabase(ctx.projectScope, input.instanceId, input.name);
      return { name: input.name };
    }),
});
