import { z } from 'zod';

/**
 * The guest's environment, parsed once at boot. Everything else comes from the injected
 * files in its config dir (see config.ts); the compute provider passes almost no env. A
 * datastore's own settings are its folder's (e.g. managers/mariadb/env.ts), read from `vars`.
 */
const guestEnvSchema = z.object({
  PATH: z.string().min(1).default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
});
export type GuestEnv = z.infer<typeof guestEnvSchema> & {
  /** The raw environment, for a datastore's own settings (its manager parses them). */
  vars: NodeJS.ProcessEnv;
};

export function parseGuestEnv(source: NodeJS.ProcessEnv = process.env): GuestEnv {
  const parsed = guestEnvSchema.safeParse(source);
  if (!parsed.success) throw new Error(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  return { ...parsed.data, vars: source };
}
