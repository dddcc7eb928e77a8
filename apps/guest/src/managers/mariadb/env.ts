/**
 * MariaDB's own settings from the guest's environment (the shared ../../env.ts has none).
 * Light (no zod): the early install at boot reads them too.
 */

export const MARIADB_BIN_DIR_VAR = 'COFFER_GUEST_MARIADB_BIN_DIR';

export interface MariadbEnv {
  /** Where mariadbd and mariadb-install-db are, when not on PATH or in the usual sbin dirs. */
  binDir: string | undefined;
}

/** Throws when a variable is set but unusable (an empty bin dir). */
export function parseMariadbEnv(vars: NodeJS.ProcessEnv): MariadbEnv {
  const binDir = vars[MARIADB_BIN_DIR_VAR];
  if (binDir === '') throw new Error(`invalid environment: ${MARIADB_BIN_DIR_VAR} is empty`);
  return { binDir };
}
