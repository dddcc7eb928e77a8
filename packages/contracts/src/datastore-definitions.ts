import { datastoreManagerSchema, type DatastoreManagerName } from './datastore';
import { type DatastoreDefinition } from './datastores/definition';
import { mariadbDatastore } from './datastores/mariadb';

export type { DatastoreDefinition } from './datastores/definition';

/**
 * Each datastore's definition, by its manager's name: its module (datastores/<name>.ts) owns
 * it; this file only finds it. A new datastore is one line here.
 */
export const DATASTORE_DEFINITIONS: Readonly<Record<DatastoreManagerName, DatastoreDefinition>> = {
  mariadb: mariadbDatastore,
};

export function datastoreDefinition(manager: DatastoreManagerName): DatastoreDefinition {
  return DATASTORE_DEFINITIONS[manager];
}

/** The definition of a manager named by a catalog row (a string), or null for one unknown here. */
export function findDatastoreDefinition(manager: string): DatastoreDefinition | null {
  const known = datastoreManagerSchema.safeParse(manager);
  return known.success ? DATASTORE_DEFINITIONS[known.data] : null;
}

/** A datastore's name as people read it ("MariaDB"); an unknown one as it is named. */
export function datastoreDisplayName(name: string): string {
  return findDatastoreDefinition(name)?.displayName ?? name;
}
