import 'server-only';

import { type Prisma, type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { AUDIT_OUTCOMES } from '~/lib/audit-labels';
import { type ProjectScopedDb } from '~/server/tenancy';
import { displayPrefixOf } from '~/server/services/api-token/token-secret';

export const AUDIT_PAGE_SIZE = 50;

/** What kind of thing an event's resource is, found by its id (null kind: not found, or not an id). */
export const auditResourceKinds = [
  'instance',
  'backup',
  'project',
  'apiToken',
  'member',
  'flavor',
  'configurationGroup',
  'invitation',
] as const;

export const auditEventViewSchema = z.object({
  id: z.string(),
  createdAt: z.date(),
  projectId: z.string().nullable(),
  /** The project's name now (null: no project, or it is gone). */
  projectName: z.string().nullable(),
  path: z.string(),
  resourceId: z.string().nullable(),
  /** The resource by name, when its id still finds it (deleted instances keep their name). */
  resource: z
    .object({
      kind: z.enum(auditResourceKinds),
      name: z.string(),
      projectId: z.string().nullable(),
    })
    .nullable(),
  result: z.string(),
  errorCode: z.string().nullable(),
  /** What the action changed, when it recorded it (e.g. a quota's old and new limit). */
  details: z
    .object({
      changes: z
        .array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() }))
        .optional(),
    })
    .catchall(z.unknown())
    .nullable(),
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

/** Filters, all optional and combined with AND; every one is applied in the query (server-side). */
export const auditFilterInput = z.object({
  /** Part of the actor's email, or of the name of the API token used. */
  actor: z.string().trim().max(200).optional(),
  /** The procedure exactly ("instance.create"), or its router ("instance"). */
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[A-Za-z.]*$/, 'An action is a procedure name such as instance.create')
    .optional(),
  /** A resource's id, or part of its name (instances, backups, projects, API tokens, groups). */
  resource: z.string().trim().max(200).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: z.date().optional(),
  to: z.date().optional(),
});
export type AuditFilter = z.infer<typeof auditFilterInput>;

export const auditPageInput = auditFilterInput.extend({
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
  details: true,
  userId: true,
  actorEmail: true,
  apiTokenId: true,
} as const;

type Reader = PrismaClient | ProjectScopedDb;
/** The two clients' delegates differ in type only by the tenancy extension. */
const root = (db: Reader) => db as unknown as PrismaClient;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** At most this many resources match a name filter (a filter that broad says little anyway). */
const NAME_MATCH_LIMIT = 500;

/** The ids of resources whose name contains `text`, of every kind an audit event may name. */
async function idsNamed(db: Reader, text: string): Promise<string[]> {
  const name = { contains: text, mode: 'insensitive' as const };
  const take = NAME_MATCH_LIMIT;
  const select = { id: true } as const;
  const r = root(db);
  const found = await Promise.all([
    r.instance.findMany({ where: { name }, select, take }),
    r.backup.findMany({ where: { name }, select, take }),
    r.project.findMany({ where: { name }, select, take }),
    r.apiToken.findMany({ where: { name }, select, take }),
    r.configurationGroup.findMany({ where: { name }, select, take }),
    r.flavor.findMany({ where: { name }, select, take }),
  ]);
  return found.flat().map((row) => row.id);
}

async function whereOf(db: Reader, filter: AuditFilter & { projectId?: string | null }) {
  const and: Prisma.AuditEventWhereInput[] = [];
  if (filter.projectId) and.push({ projectId: filter.projectId });
  if (filter.actor) {
    const tokens = await root(db).apiToken.findMany({
      where: { name: { contains: filter.actor, mode: 'insensitive' } },
      select: { id: true },
      take: NAME_MATCH_LIMIT,
    });
    and.push({
      OR: [
        { actorEmail: { contains: filter.actor, mode: 'insensitive' } },
        ...(tokens.length ? [{ apiTokenId: { in: tokens.map((token) => token.id) } }] : []),
      ],
    });
  }
  if (filter.action) {
    and.push(
      filter.action.includes('.')
        ? { path: filter.action }
        : { path: { startsWith: `${filter.action}.` } },
    );
  }
  if (filter.resource) {
    const ids = UUID.test(filter.resource)
      ? [filter.resource.toLowerCase()]
      : await idsNamed(db, filter.resource);
    and.push({ resourceId: { in: ids } });
  }
  if (filter.outcome === 'succeeded') and.push({ result: 'OK' });
  if (filter.outcome === 'failed') and.push({ result: { not: 'OK' } });
  if (filter.from) and.push({ createdAt: { gte: filter.from } });
  if (filter.to) and.push({ createdAt: { lte: filter.to } });
  return { AND: and } satisfies Prisma.AuditEventWhereInput;
}

/** An event's details as recorded (an object), else null. */
function detailsOf(value: unknown): AuditEventView['details'] {
  const parsed = auditEventViewSchema.shape.details.safeParse(value ?? null);
  return parsed.success ? parsed.data : null;
}

type Resource = NonNullable<AuditEventView['resource']>;

/** The resources of a page by id: one query per kind, whatever the page's size. */
async function resourcesOf(db: Reader, ids: string[]): Promise<Map<string, Resource>> {
  const byId = new Map<string, Resource>();
  if (ids.length === 0) return byId;
  const r = root(db);
  const where = { id: { in: ids } };
  const [instances, backups, projects, tokens, members, flavors, groups, invitations] =
    await Promise.all([
      r.instance.findMany({ where, select: { id: true, name: true, projectId: true } }),
      r.backup.findMany({ where, select: { id: true, name: true, projectId: true } }),
      r.project.findMany({ where, select: { id: true, name: true } }),
      r.apiToken.findMany({ where, select: { id: true, name: true, projectId: true } }),
      r.membership.findMany({
        where,
        select: { id: true, projectId: true, user: { select: { email: true } } },
      }),
      r.flavor.findMany({ where, select: { id: true, name: true } }),
      r.configurationGroup.findMany({ where, select: { id: true, name: true, projectId: true } }),
      r.invitation.findMany({ where, select: { id: true, email: true, projectId: true } }),
    ]);
  const add = (
    kind: Resource['kind'],
    rows: { id: string; name: string; projectId?: string }[],
  ) => {
    for (const row of rows)
      byId.set(row.id, { kind, name: row.name, projectId: row.projectId ?? null });
  };
  add('instance', instances);
  add('backup', backups);
  add(
    'project',
    projects.map((row) => ({ ...row, projectId: row.id })),
  );
  add('apiToken', tokens);
  add(
    'member',
    members.map((row) => ({ id: row.id, name: row.user.email, projectId: row.projectId })),
  );
  add('flavor', flavors);
  add('configurationGroup', groups);
  add(
    'invitation',
    invitations.map((row) => ({ id: row.id, name: row.email, projectId: row.projectId })),
  );
  return byId;
}

/**
 * A page of audit events, newest first, filtered, with names: who (the email recorded, and the
 * API token's name), the project, and the resource (instance, backup, project, token, member,
 * flavor or configuration group) by name, its id kept beside. Through a project-scoped client it
 * is that project's events (owners); through the root client, everyone's (operators),
 * optionally one project's.
 */
export async function listAuditEvents(
  db: Reader,
  input: AuditFilter & { cursor?: string | null; limit: number; projectId?: string | null },
): Promise<z.infer<typeof auditPageSchema>> {
  const r = root(db);
  const rows = await r.auditEvent.findMany({
    where: await whereOf(db, input),
    select: auditSelect,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: input.limit + 1,
    ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, input.limit);
  const distinct = (values: (string | null)[]) => [
    ...new Set(values.filter((value): value is string => value !== null && UUID.test(value))),
  ];
  const tokenIds = distinct(page.map((row) => row.apiTokenId));
  const projectIds = distinct(page.map((row) => row.projectId));
  const [tokens, projects, resources] = await Promise.all([
    tokenIds.length
      ? r.apiToken.findMany({
          where: { id: { in: tokenIds } },
          select: { id: true, name: true, publicId: true },
        })
      : [],
    projectIds.length
      ? r.project.findMany({ where: { id: { in: projectIds } }, select: { id: true, name: true } })
      : [],
    resourcesOf(db, distinct(page.map((row) => row.resourceId))),
  ]);
  const tokenById = new Map(tokens.map((token) => [token.id, token]));
  const projectName = new Map(projects.map((project) => [project.id, project.name]));
  return {
    events: page.map((row) => {
      const token = row.apiTokenId ? tokenById.get(row.apiTokenId) : undefined;
      return {
        id: row.id,
        createdAt: row.createdAt,
        projectId: row.projectId,
        projectName: row.projectId ? (projectName.get(row.projectId) ?? null) : null,
        path: row.path,
        resourceId: row.resourceId,
        resource: row.resourceId ? (resources.get(row.resourceId) ?? null) : null,
        result: row.result,
        errorCode: row.errorCode,
        details: detailsOf(row.details),
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
