import 'server-only';

import { AppError, findDatastoreDefinition, type DatastoreDefinition } from '@coffer/contracts';

import { type ProjectScopedDb } from '~/server/tenancy';

/** The definition of the datastore manager a catalog row names (an unknown one: an error). */
export function requireDatastoreDefinition(manager: string): DatastoreDefinition {
  const datastore = findDatastoreDefinition(manager);
  if (!datastore) {
    throw new AppError(
      'INTERNAL',
      `The datastore manager "${manager}" is not supported by this Coffer`,
    );
  }
  return datastore;
}

/**
 * The definition of an instance's datastore (its version's manager), for the rules only the
 * datastore knows, such as what its users' host patterns match.
 */
export async function instanceDatastore(
  db: ProjectScopedDb,
  instanceId: string,
): Promise<DatastoreDefinition> {
  const row = await db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: { datastoreVersion: { select: { datastore: { select: { manager: true } } } } },
  });
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  return requireDatastoreDefinition(row.datastoreVersion.datastore.manager);
}
