import 'server-only';

import { type ApiTokenScope, type PrismaClient } from '@coffer/db';

import { isSameTokenHash, publicIdOf } from './token-secret';

export interface ApiTokenIdentity {
  id: string;
  projectId: string;
  scope: ApiTokenScope;
}

export type BearerAuthentication =
  | { kind: 'valid'; user: { id: string; email: string; name: string }; token: ApiTokenIdentity }
  /** A bearer token was given but does not let anyone in: the message says why. */
  | { kind: 'refused'; message: string };

/** Last-use times are written at most this often per token. */
const LAST_USED_PRECISION_MS = 60_000;

/** The token of an `Authorization: Bearer …` header, or null when there is none. */
export function bearerTokenOf(headers: Headers): string | null {
  const value = headers.get('authorization');
  if (!value) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1]! : '';
}

/**
 * Who an API token acts for: found by its public id, its hash compared in constant time;
 * revoked and expired tokens are refused, saying which.
 */
export async function authenticateApiToken(
  db: PrismaClient,
  token: string,
  now = new Date(),
): Promise<BearerAuthentication> {
  const publicId = publicIdOf(token);
  const row = publicId
    ? await db.apiToken.findUnique({
        where: { publicId },
        select: {
          id: true,
          projectId: true,
          scope: true,
          secretHash: true,
          expiresAt: true,
          revokedAt: true,
          lastUsedAt: true,
          user: { select: { id: true, email: true, name: true } },
        },
      })
    : null;
  if (!row || !isSameTokenHash(row.secretHash, token))
    return { kind: 'refused', message: 'This API token is not valid' };
  if (row.revokedAt) return { kind: 'refused', message: 'This API token has been revoked' };
  if (row.expiresAt <= now) return { kind: 'refused', message: 'This API token has expired' };

  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
    // Bookkeeping only: the request does not wait for it.
    void db.apiToken
      .update({ where: { id: row.id }, data: { lastUsedAt: now } })
      .catch(() => undefined);
  }
  return {
    kind: 'valid',
    user: row.user,
    token: { id: row.id, projectId: row.projectId, scope: row.scope },
  };
}
