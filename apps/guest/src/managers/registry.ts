import { type DatastoreManager, type ManagerContext } from './datastore-manager';
import { createMariadbManager } from './mariadb/mariadb-manager';

/** Makes a datastore's manager from what the agent gives every manager. */
export type ManagerFactory = (context: ManagerContext) => DatastoreManager;

/** guest_info names a datastore this guest has no manager for: it refuses to start. */
export class UnknownDatastoreError extends Error {
  constructor(
    readonly datastore: string,
    known: readonly string[],
  ) {
    super(
      `this guest has no manager for the datastore "${datastore}" named by guest_info (it runs: ${known.join(', ')})`,
    );
    this.name = 'UnknownDatastoreError';
  }
}

/** Datastore managers by guest_info's `datastoreManager` name. */
export class ManagerRegistry {
  private readonly factories = new Map<string, ManagerFactory>();

  register(datastore: string, factory: ManagerFactory): this {
    if (this.factories.has(datastore))
      throw new Error(`a manager for ${datastore} is registered already`);
    this.factories.set(datastore, factory);
    return this;
  }

  /** The factory registered for `datastore`; UnknownDatastoreError when there is none. */
  factoryFor(datastore: string): ManagerFactory {
    const factory = this.factories.get(datastore);
    if (!factory) throw new UnknownDatastoreError(datastore, [...this.factories.keys()]);
    return factory;
  }
}

/**
 * The datastores this guest runs, one line each: a new datastore is a folder under
 * managers/ with a factory, and its line here.
 */
export const datastoreManagers = new ManagerRegistry().register('mariadb', createMariadbManager);
