import 'server-only';

import { type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type ProjectScopedDb } from '~/server/tenancy';
import { displayPrefixOf } from '~/server/services/api-token/token-secret';

export const AUDIT_PAGE_SIZE = 50;

export const auditEventViewSchema = z.object({
  id: z.string(),
  createdAt: z.date(),
  projectId: z.string().nullable(),
  path: z.string(),
  resourceId: z.string().nullable(),
  result: z.string(),
  errorCode: z.string().nullable(),
  actor: z.object({ userId: z.string().nullable(), email: z.string().nullable() }),
  apiToken: z
    .object({ id: z.string(), name: z.string().nullable(), prefix: z.string().nullable() })
    .nullable(),
});
export type AuditEventView = z.infer<typeof auditEventViewSchema>;

export const auditPageSchema = z.object({
  events: z.array(auditEventViewSchema),
  nextCursor: z.string().nullable(),
});

export const auditPageInput = z.object({
  /** The id of the last event of the previous page. */
  cursor: z.uuid().nullish(),
  limit: z.number().int().min(1).max(200).default(AUDIT_PAGE_SIZE),
});

const auditSelect = {
  id: true,
  createdAt: true,
  projectId: true,
  path: true,
  resourceId: true,
  result: true,
  errorCode: true,
  userId: true,
  actorEmail: true,
  apiTokenId: true,
} as const;

type Reader =
  Pick<PrismaClient, 'auditEvent' | 'apiToken'> | Pick<ProjectScopedDb, 'auditEvent' | 'apiToken'>;

/**
 * A page of audit events, newest first. Through a project-scoped client it is that project's
 * events (owners); through the root client, everyone's (operators), optionally one project's.
 */
export async function listAuditEvents(
  db: Reader,
  input: { cursor?: string | null; limit: number; projectId?: string | null },
): Promise<z.infer<typeof auditPageSchema>> {
  // The two clients' delegates differ in type only by the tenancy extension.
  const events = db.auditEvent as PrismaClient['auditEvent'];
  const rows = await events.findMany({
    where: input.projectId ? { projectId: input.projectId } : {},
    select: auditSelect,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: input.limit + 1,
    ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, input.limit);
  const tokenIds = [
    ...new Set(page.map((row) => row.apiTokenId).filter((id): id is string => id !== null)),
  ];
  const tokens = tokenIds.length
    ? await (db.apiToken as PrismaClient['apiToken']).findMany({
        where: { id: { in: tokenIds } },
        select: { id: true, name: true, publicId: true },
      })
    : [];
  const tokenById = new Map(tokens.map((token) => [token.id, token]));
  return {
    events: page.map((row) => {
      const token = row.apiTokenId ? tokenById.get(row.apiTokenId) : undefined;
      return {
        id: row.id,
        createdAt: row.createdAt,
        projectId: row.projectId,
        path: row.path,
        resourceId: row.resourceId,
        result: row.result,
        errorCode: row.errorCode,
        actor: { userId: row.userId, email: row.actorEmail },
        apiToken: row.apiTokenId
          ? {
              id: row.apiTokenId,
              name: token?.name ?? null,
              prefix: token ? displayPrefixOf(token.publicId) : null,
            }
          : null,
      };
    }),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
