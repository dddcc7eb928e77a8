import { z } from 'zod';

import { createTRPCRouter, protectedProcedure } from '~/server/api/trpc';

export const viewerRouter = createTRPCRouter({
  /** Who is signed in, and whether they are an operator (the console shows Admin to operators only). */
  me: protectedProcedure
    .output(
      z.object({ id: z.string(), email: z.string(), name: z.string(), isOperator: z.boolean() }),
    )
    .query(async ({ ctx }) => {
      const operator = await ctx.db.operator.findUnique({
        where: { userId: ctx.user.id },
        select: { userId: true },
      });
      return { ...ctx.user, isOperator: Boolean(operator) };
    }),
});
