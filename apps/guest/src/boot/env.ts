/**
 * The two settings the early install needs, read before the agent's modules (and zod) load.
 * The agent validates its whole environment again in ../env.ts.
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function readBootEnv(): { path: string; mariadbBinDir: string | undefined } {
  return {
    path: process.env.PATH || DEFAULT_PATH,
    mariadbBinDir: process.env.COFFER_GUEST_MARIADB_BIN_DIR || undefined,
  };
}
