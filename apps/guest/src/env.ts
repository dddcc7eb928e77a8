import { z } from 'zod';

/**
 * The guest's environment, parsed once at boot. Everything else comes from the injected
 * files in its config dir (see config.ts); the compute provider passes almost no env.
 */
const guestEnvSchema = z.object({
  PATH: z.string().min(1).default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
  /** Where mariadbd and mariadb-install-db are, when not on PATH or in the usual sbin dirs. */
  COFFER_GUEST_MARIADB_BIN_DIR: z.string().min(1).optional(),
});
export type GuestEnv = z.infer<typeof guestEnvSchema>;

export function parseGuestEnv(source: NodeJS.ProcessEnv = process.env): GuestEnv {
  const parsed = guestEnvSchema.safeParse(source);
  if (!parsed.success) throw new Error(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
