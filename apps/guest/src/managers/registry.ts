import { type Logger } from 'pino';

import { type BootEnv } from '../boot/env';
import { type DatastoreManager, type ManagerContext } from './datastore-manager';
import { mariadbDatastore } from './mariadb/datastore';

/**
 * The datastores this guest runs, by guest_info's `datastoreManager` name. A datastore
 * registers what its folder exports (e.g. mariadb/datastore.ts): the loader of its manager's
 * factory and, optionally, a hook for work it starts at boot before the agent loads.
 *
 * Loaded by the bundle's entry (boot/early-install.ts) before the agent: this file and what
 * a registration imports statically must stay light (no zod, no pino at run time, no Redis).
 * The manager itself, most of the bundle, is only reached through `loadManager` (a dynamic
 * import), which the agent awaits once guest_info is read.
 */

/** Makes a datastore's manager from what the agent gives every manager. */
export type ManagerFactory = (context: ManagerContext) => DatastoreManager;

/** What the entry read of the injected files, unvalidated (anything unexpected: no early boot). */
export interface EarlyBootInput {
  configDir: string;
  instanceId: string;
  /** What the server will be sized for (the agent config's `preinstall`). */
  preinstall: { memoryMb: number; vcpus: number };
  /** The agent config's `datastore` object as it is in the file. */
  datastore: Record<string, unknown>;
  env: BootEnv;
  /** Writes pino-shaped lines, like the rest of the guest log. */
  logger: Logger;
}

/**
 * Work a datastore starts before the agent loads (boot/early-install.ts), e.g. installing its
 * datadir while Node parses the rest of the bundle. Returns its promise (which never rejects;
 * the manager receives it as `ManagerContext.earlyInstall`), or null when there is nothing to do.
 */
export type EarlyBootHook = (input: EarlyBootInput) => Promise<void> | null;

/** What a datastore registers: its folder exports it, registry.ts names it. */
export interface DatastoreRegistration {
  /** The manager's factory, loaded when the agent starts (a dynamic import: keeps it out of the entry). */
  loadManager(): Promise<ManagerFactory>;
  /** Early work at boot, when the agent config carries `preinstall`; none: nothing that early. */
  earlyBoot?: EarlyBootHook;
}

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

/** Datastores by guest_info's `datastoreManager` name. */
export class DatastoreRegistry {
  private readonly registrations = new Map<string, DatastoreRegistration>();

  register(datastore: string, registration: DatastoreRegistration): this {
    if (this.registrations.has(datastore))
      throw new Error(`a manager for ${datastore} is registered already`);
    this.registrations.set(datastore, registration);
    return this;
  }

  /** The manager's factory for `datastore`; rejects with UnknownDatastoreError when there is none. */
  async factoryFor(datastore: string): Promise<ManagerFactory> {
    const registration = this.registrations.get(datastore);
    if (!registration) throw new UnknownDatastoreError(datastore, [...this.registrations.keys()]);
    return registration.loadManager();
  }

  /** The datastores registered, by name. */
  names(): string[] {
    return [...this.registrations.keys()];
  }

  /** The early boot hook of `datastore`, if it is registered and has one. */
  earlyBootHookFor(datastore: string): EarlyBootHook | undefined {
    return this.registrations.get(datastore)?.earlyBoot;
  }
}

/** The datastores this guest runs, one line each: a new datastore is a folder and its line. */
export const datastoreManagers = new DatastoreRegistry().register('mariadb', mariadbDatastore);
