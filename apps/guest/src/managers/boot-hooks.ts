import { type Logger } from 'pino';

import { type BootEnv } from '../boot/env';
import { mariadbEarlyInstall } from './mariadb/early-install';

/**
 * Work a datastore starts before the agent loads (boot/early-install.ts): e.g. installing its
 * datadir while Node parses the rest of the bundle. Optional: a datastore with nothing to do
 * that early has no line here (registry.ts alone makes it run).
 *
 * Loaded by the bundle's entry, before the agent: a hook and what it imports must stay light
 * (no zod, no pino at run time, no Redis), and must not import the manager's factory.
 */

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
 * Starts the datastore's early work and returns its promise (which never rejects; the manager
 * receives it as `ManagerContext.earlyInstall`), or null when there is nothing to do.
 */
export type EarlyBootHook = (input: EarlyBootInput) => Promise<void> | null;

/** Early boot hooks by guest_info's `datastoreManager` name. */
export const earlyBootHooks: Readonly<Record<string, EarlyBootHook>> = {
  mariadb: mariadbEarlyInstall,
};
