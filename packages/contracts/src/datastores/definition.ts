import { type AllowedSources } from '../allowed-sources';

/**
 * What the control plane knows of one datastore beyond shared shapes, owned by its module
 * (datastores/<name>.ts) and found by its manager's name (`datastoreDefinition`). Browser-safe:
 * the console reads it too.
 */
export interface DatastoreDefinition {
  /** The manager's name (`DATASTORE_MANAGERS`); the catalog seeds its datastore under it. */
  readonly name: string;
  /** How people call it: the console's "MariaDB 10.11". */
  readonly displayName: string;
  /**
   * Why a database user's host pattern (in this datastore's syntax) falls outside the
   * instance's allowed sources, or null when its clients can get through them (issue 13).
   * Monotone: sources that admit more (`sourcesCover`) never refuse a host fewer accepted.
   */
  userHostOutsideSources(host: string, sources: AllowedSources): string | null;
}
