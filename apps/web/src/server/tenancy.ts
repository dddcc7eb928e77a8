import 'server-only';

import { type PrismaClient, type ProjectRole } from '@coffer/db';

/**
 * Tenancy, enforced once: the project-scoped procedure hands every resolver a Prisma client
 * that adds `projectId` to each query of a tenant model, reads and writes alike. A resolver
 * cannot forget the filter, and an id of another project simply finds nothing ("not found").
 * Who may enter a project at all is `resolveProjectAccess` below.
 */
const FILTERED_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
]);
const CREATE_OPERATIONS = new Set(['create', 'createMany', 'createManyAndReturn']);

/** The same arguments with `projectId` added to the filter (reads, updates, deletes) or the data (creates). */
function withProject<A>(operation: string, args: A, projectId: string): A {
  const next = { ...(args as Record<string, unknown>) };
  if (FILTERED_OPERATIONS.has(operation)) {
    next.where = { ...(next.where as object | undefined), projectId };
  } else if (CREATE_OPERATIONS.has(operation)) {
    const data = next.data;
    next.data = Array.isArray(data)
      ? data.map((row: object) => ({ ...row, projectId }))
      : { ...(data as object), projectId };
  } else if (operation === 'upsert') {
    next.where = { ...(next.where as object), projectId };
    next.create = { ...(next.create as object), projectId };
  } else {
    throw new Error(`tenancy: ${operation} is not allowed on project-scoped data`);
  }
  return next as A;
}

export function scopeToProject(db: PrismaClient, projectId: string) {
  return db.$extends({
    name: `project-${projectId}`,
    query: {
      membership: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      instance: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      apiToken: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      quota: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      auditEvent: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      backup: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      backupSchedule: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      instanceEvent: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      configurationGroup: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
      invitation: {
        $allOperations: ({ operation, args, query }) =>
          query(withProject(operation, args, projectId)),
      },
    },
  });
}

export type ProjectScopedDb = ReturnType<typeof scopeToProject>;

/**
 * How the caller may see a project: as a member (their role), or as an operator who is not a
 * member (read-only: the role of a viewer, so every write procedure refuses and the console
 * hides its actions). Anyone else, and an API token outside its own project, gets null: the
 * project does not exist for them ("not found"). The one rule the project procedure (so every
 * project-scoped router) and the console's pages (through `project.get`) follow.
 */
export type ProjectAccess = {
  project: { id: string; name: string };
  role: ProjectRole;
  /** `operator`: an operator looking at a project they are not a member of. */
  via: 'membership' | 'operator';
};

export async function resolveProjectAccess(
  db: PrismaClient,
  caller: { userId: string; apiTokenProjectId: string | null },
  projectId: string,
): Promise<ProjectAccess | null> {
  // A token lives inside its project only, whoever made it.
  if (caller.apiTokenProjectId !== null && caller.apiTokenProjectId !== projectId) return null;
  const membership = await db.membership.findUnique({
    where: { projectId_userId: { projectId, userId: caller.userId } },
    select: { role: true, project: { select: { id: true, name: true } } },
  });
  if (membership) return { project: membership.project, role: membership.role, via: 'membership' };
  // Operators see every project, read-only, through the console (never with a token).
  if (caller.apiTokenProjectId !== null) return null;
  const [operator, project] = await Promise.all([
    db.operator.findUnique({ where: { userId: caller.userId }, select: { userId: true } }),
    db.project.findUnique({ where: { id: projectId }, select: { id: true, name: true } }),
  ]);
  if (!operator || !project) return null;
  return { project, role: 'VIEWER', via: 'operator' };
}
