import { databaseUserInfoSchema } from '@coffer/contracts';
import { z } from 'zod';

import {
  accountInputSchema,
  createUserInputSchema,
  grantAccessInputSchema,
  instanceRefInputSchema,
  revokeAccessInputSchema,
  updateUserInputSchema,
} from '~/lib/database-schemas';
import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
import {
  createUser,
  deleteUser,
  grantAccess,
  listAccess,
  listUsers,
  revokeAccess,
  updateUser,
} from '~/server/services/database/manage-users';

const accessOutput = z.object({
  name: z.string(),
  host: z.string(),
  databases: z.array(z.string()),
});

/**
 * The database users inside an instance and their access (Trove's users API). Members list;
 * owners and members change. Root and the guest's own account are never listed and cannot
 * be named. Passwords go in, never out.
 */
export const databaseUserRouter = createTRPCRouter({
  list: projectProcedure
    .input(instanceRefInputSchema)
    .output(z.array(databaseUserInfoSchema))
    .query(({ ctx, input }) =>
      listUsers({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),

  create: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(createUserInputSchema)
    .output(databaseUserInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, host, password, databases } = input;
      return createUser({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, instanceId, {
        name,
        host,
        password,
        databases,
      });
    }),

  update: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(updateUserInputSchema)
    .output(databaseUserInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, host, newHost, newPassword } = input;
      return updateUser({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, instanceId, {
        name,
        host,
        newHost,
        newPassword,
      });
    }),

  delete: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(accountInputSchema)
    .output(z.object({ name: z.string(), host: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host } = input;
      await deleteUser({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, instanceId, {
        name,
        host,
      });
      return { name, host };
    }),

  listAccess: projectProcedure
    .input(instanceRefInputSchema)
    .input(accountInputSchema)
    .output(accessOutput)
    .query(async ({ ctx, input }) => {
      const { instanceId, name, host } = input;
      const databases = await listAccess(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        instanceId,
        { name, host },
      );
      return { name, host, databases };
    }),

  grantAccess: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(grantAccessInputSchema)
    .output(accessOutput)
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host, databases } = input;
      const after = await grantAccess(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        instanceId,
        { name, host, databases },
      );
      return { name, host, databases: after };
    }),

  revokeAccess: projectWriteProcedure
    .input(instanceRefInputSchema)
    .input(revokeAccessInputSchema)
    .output(accessOutput)
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host, database } = input;
      const after = await revokeAccess(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        instanceId,
        { name, host, database },
      );
      return { name, host, databases: after };
    }),
});
