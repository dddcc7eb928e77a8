import { z } from 'zod';

import { apiTokenScopeSchema, createApiTokenInputSchema } from '~/lib/api-token-schemas';
import { createTRPCRouter, projectSessionProcedure } from '~/server/api/trpc';
import {
  createApiToken,
  listApiTokens,
  revokeApiToken,
} from '~/server/services/api-token/manage-api-tokens';

const apiTokenOutput = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scope: apiTokenScopeSchema,
  status: z.enum(['ACTIVE', 'EXPIRED', 'REVOKED']),
  createdAt: z.date(),
  expiresAt: z.date(),
  revokedAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(),
  user: z.object({ id: z.string(), email: z.string(), name: z.string() }),
});

/** API tokens for scripts, managed in the console (a token cannot manage tokens). */
export const apiTokenRouter = createTRPCRouter({
  list: projectSessionProcedure
    .output(z.array(apiTokenOutput))
    .query(({ ctx }) =>
      listApiTokens({ db: ctx.db, projectId: ctx.project.id, userId: ctx.user.id, role: ctx.role }),
    ),

  /** The token itself is in this answer and nowhere else, ever. */
  create: projectSessionProcedure
    .input(createApiTokenInputSchema)
    .output(z.object({ token: z.string(), apiToken: apiTokenOutput }))
    .mutation(async ({ ctx, input }) => {
      const created = await createApiToken(
        { db: ctx.db, projectId: ctx.project.id, userId: ctx.user.id, role: ctx.role },
        input,
      );
      ctx.audit.resourceId = created.apiToken.id;
      return created;
    }),

  revoke: projectSessionProcedure
    .input(z.object({ tokenId: z.uuid({ error: 'API token not found' }) }))
    .output(apiTokenOutput)
    .mutation(({ ctx, input }) =>
      revokeApiToken(
        { db: ctx.db, projectId: ctx.project.id, userId: ctx.user.id, role: ctx.role },
        input.tokenId,
      ),
    ),
});
