import { z } from 'zod';

/**
 * Datastores (Trove's datastore managers). The control plane knows these by name; each has a
 * manager folder in the guest (apps/guest/src/managers/<name>/) registered under the name.
 * A new datastore is a new name here, its catalog rows, and its guest manager.
 */
export const DATASTORE_MANAGERS = ['mariadb'] as const;
export const datastoreManagerSchema = z.enum(DATASTORE_MANAGERS);
export type DatastoreManagerName = z.infer<typeof datastoreManagerSchema>;

/**
 * A datastore manager's name as guest_info carries it. Only its form is checked here: the
 * guest's registry of managers decides whether it runs it, and refuses to start otherwise.
 */
export const datastoreManagerNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a datastore manager name (lowercase letters, digits, dashes)');
