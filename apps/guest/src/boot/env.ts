/**
 * What the early boot hooks get of the environment, read before the agent's modules (and zod)
 * load. The agent validates its whole environment again in ../env.ts.
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface BootEnv {
  path: string;
  /** The raw environment, for a datastore's own settings (unvalidated: read with care). */
  vars: NodeJS.ProcessEnv;
}

export function readBootEnv(): BootEnv {
  return { path: process.env.PATH || DEFAULT_PATH, vars: process.env };
}

/**
 * Takes out of the environment what only the guest's own start needed: its allocator settings
 * (GUEST_ENV of ../launch.ts), which the tools and servers it runs should not get.
 */
export function dropLaunchOnlyEnv(): void {
  delete process.env.GLIBC_TUNABLES;
}
