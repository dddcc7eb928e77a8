import 'server-only';

import { type PrismaClient } from '@coffer/db';

/**
 * Tenancy, enforced once: the project-scoped procedure hands every resolver a Prisma client
 * that adds `projectId` to each query of a tenant model, reads and writes alike. A resolver
 * cannot forget the filter, and an id of another project simply finds nothing ("not found").
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
    },
  });
}

export type ProjectScopedDb = ReturnType<typeof scopeToProject>;
