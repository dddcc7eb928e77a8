/**
 * MariaDB's own settings from the guest's environment (the shared ../../env.ts has none).
 * Light (no zod): the early install at boot reads them too.
 */

import { GUEST_TEMPLATE_DIR_ENV } from '@coffer/contracts/guest-env';

export const MARIADB_BIN_DIR_VAR = 'COFFER_GUEST_MARIADB_BIN_DIR';
/** MariaDB's datadir templates live in its `mariadb/` (datadir-template.ts). Unset: every install runs mariadb-install-db. */
export const TEMPLATE_DIR_VAR = GUEST_TEMPLATE_DIR_ENV;

export interface MariadbEnv {
  /** Where mariadbd and mariadb-install-db are, when not on PATH or in the usual sbin dirs. */
  binDir: string | undefined;
  /** Where datadir templates are kept (see TEMPLATE_DIR_VAR). */
  templateDir: string | undefined;
}

/** Throws when a variable is set but unusable (an empty bin dir, a relative template dir). */
export function parseMariadbEnv(vars: NodeJS.ProcessEnv): MariadbEnv {
  const binDir = vars[MARIADB_BIN_DIR_VAR];
  if (binDir === '') throw new Error(`invalid environment: ${MARIADB_BIN_DIR_VAR} is empty`);
  const templateDir = vars[TEMPLATE_DIR_VAR] || undefined;
  if (templateDir !== undefined && !templateDir.startsWith('/')) {
    throw new Error(`invalid environment: ${TEMPLATE_DIR_VAR} must be an absolute path`);
  }
  return { binDir, templateDir };
}
