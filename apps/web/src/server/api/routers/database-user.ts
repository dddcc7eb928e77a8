import { databaseUserInfoSchema } from '@coffer/contracts';
import { z } from 'zod';

import {
  accountInputSchema,
  createUserInputSchema,
  grantAccessInputSchema,
  revokeAccessInputSchema,
  updateUserInputSchema,
} from '~/lib/database-schemas';
import { instanceProcedure, instanceWriteProcedure } from '~/server/api/instance-procedures';
import { createTRPCRouter } from '~/server/api/trpc';
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
  list: instanceProcedure
    .output(z.array(databaseUserInfoSchema))
    .query(({ ctx, input }) => listUsers(ctx.projectScope, input.instanceId)),

  create: instanceWriteProcedure
    .input(createUserInputSchema)
    .output(databaseUserInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, host, password, databases } = input;
      return createUser(ctx.projectScope, instanceId, {
        name,
        host,
        password,
        databases,
      });
    }),

  update: instanceWriteProcedure
    .input(updateUserInputSchema)
    .output(databaseUserInfoSchema)
    .mutation(({ ctx, input }) => {
      const { instanceId, name, host, newHost, newPassword } = input;
      return updateUser(ctx.projectScope, instanceId, {
        name,
        host,
        newHost,
        newPassword,
      });
    }),

  delete: instanceWriteProcedure
    .input(accountInputSchema)
    .output(z.object({ name: z.string(), host: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host } = input;
      await deleteUser(ctx.projectScope, instanceId, {
        name,
        host,
      });
      return { name, host };
    }),

  listAccess: instanceProcedure
    .input(accountInputSchema)
    .output(accessOutput)
    .query(async ({ ctx, input }) => {
      const { instanceId, name, host } = input;
      const databases = await listAccess(ctx.projectScope, instanceId, { name, host });
      return { name, host, databases };
    }),

  grantAccess: instanceWriteProcedure
    .input(grantAccessInputSchema)
    .output(accessOutput)
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host, databases } = input;
      const after = await grantAccess(ctx.projectScope, instanceId, { name, host, databases });
      return { name, host, databases: after };
    }),

  revokeAccess: instanceWriteProcedure
    .input(revokeAccessInputSchema)
    .output(accessOutput)
    .mutation(async ({ ctx, input }) => {
      const { instanceId, name, host, database } = input;
      const after = await revokeAccess(ctx.projectScope, instanceId, { name, host, database });
      return { name, host, databases: after };
    }),
});
