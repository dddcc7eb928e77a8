import { databaseInfoSchema } from '@coffer/contracts';
import { z } from 'zod';

import {
  createDatabaseInputSchema,
  databaseRefInputSchema,
  instanceRefInputSchema,
} from '~/lib/database-schemas';
import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
import {
  createDatabase,
  deleteDatabase,
  listDatabases,
} from '~/server/services/database/manage-databases';

/** The databases inside an instance (Trove's databases API). Members list; owners and members change. */
export const databaseRouter = createTRPCRouter({
  list: projectProcedure
    .input(instanceRefInputSchema)
    .output(z.array(databaseInfoSchema))
    .query(({ ctx, input }) =>
      listDatabases({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),

  create: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(createDatabaseInputSchema)
    .output(databaseInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, characterSet, collation } = input;
      return createDatabase({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, instanceId, {
        name,
        characterSet,
        collation,
      });
    }),

  delete: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(databaseRefInputSchema)
    .output(z.object({ name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await deleteDatabase(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        input.instanceId,
        input.name,
      );
      return { name: input.name };
    }),
});
