import 'server-only';

import { AppError } from '@coffer/contracts';
import { type ProjectRole } from '@coffer/db';
import { type z } from 'zod';

import { type createApiTokenInputSchema } from '~/lib/api-token-schemas';
import { type ProjectScopedDb } from '~/server/tenancy';
import { displayPrefixOf, generateApiToken } from './token-secret';

const DAY_MS = 24 * 3600 * 1000;

export const apiTokenSelect = {
  id: true,
  name: true,
  publicId: true,
  scope: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  user: { select: { id: true, email: true, name: true } },
} as const;

type ApiTokenRow = {
  id: string;
  name: string;
  publicId: string;
  scope: 'READ_ONLY' | 'READ_WRITE';
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  user: { id: string; email: string; name: string };
};

export type ApiTokenView = Omit<ApiTokenRow, 'publicId'> & {
  prefix: string;
  status: 'ACTIVE' | 'EXPIRED' | 'REVOKED';
};

export function toApiTokenView({ publicId, ...row }: ApiTokenRow, now = new Date()): ApiTokenView {
  const status = row.revokedAt ? 'REVOKED' : row.expiresAt <= now ? 'EXPIRED' : 'ACTIVE';
  return { ...row, prefix: displayPrefixOf(publicId), status };
}

interface TokenContext {
  db: ProjectScopedDb;
  projectId: string;
  userId: string;
  role: ProjectRole;
}

/**
 * Creates a token for the signed-in user in this project. The token is returned once, here,
 * and never again: only its hash is stored. A viewer's tokens can only read.
 */
export async function createApiToken(
  ctx: TokenContext,
  input: z.output<typeof createApiTokenInputSchema>,
): Promise<{ token: string; apiToken: ApiTokenView }> {
  if (ctx.role === 'VIEWER' && input.scope !== 'READ_ONLY') {
    throw new AppError('FORBIDDEN', 'Viewers can only create read-only tokens', {
      details: { fieldErrors: { scope: ['Viewers can only create read-only tokens'] } },
    });
  }
  const { token, publicId, secretHash } = generateApiToken();
  const row = await ctx.db.apiToken.create({
    data: {
      projectId: ctx.projectId,
      userId: ctx.userId,
      name: input.name,
      scope: input.scope,
      publicId,
      secretHash,
      expiresAt: new Date(Date.now() + input.expiresInDays * DAY_MS),
    },
    select: apiTokenSelect,
  });
  return { token, apiToken: toApiTokenView(row) };
}

/** The caller's own tokens in this project; owners see everyone's (to revoke a departed member's). */
export async function listApiTokens(ctx: TokenContext): Promise<ApiTokenView[]> {
  const rows = await ctx.db.apiToken.findMany({
    where: ctx.role === 'OWNER' ? {} : { userId: ctx.userId },
    select: apiTokenSelect,
    orderBy: [{ revokedAt: { sort: 'desc', nulls: 'first' } }, { createdAt: 'desc' }],
  });
  const now = new Date();
  return rows.map((row) => toApiTokenView(row, now));
}

/** Revokes one of the caller's tokens (owners: any token of the project). Revoking twice is fine. */
export async function revokeApiToken(ctx: TokenContext, tokenId: string): Promise<ApiTokenView> {
  const where = ctx.role === 'OWNER' ? { id: tokenId } : { id: tokenId, userId: ctx.userId };
  const existing = await ctx.db.apiToken.findFirst({
    where,
    select: { id: true, revokedAt: true },
  });
  if (!existing) throw new AppError('NOT_FOUND', 'API token not found');
  const row = existing.revokedAt
    ? await ctx.db.apiToken.findFirstOrThrow({ where: { id: tokenId }, select: apiTokenSelect })
    : await ctx.db.apiToken.update({
        where: { id: tokenId },
        data: { revokedAt: new Date() },
        select: apiTokenSelect,
      });
  return toApiTokenView(row);
}
