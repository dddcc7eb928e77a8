import { z } from 'zod';

/**
 * The local provider's own settings (the only module of @coffer/compute that reads
 * process.env), parsed when the worker makes the provider (local-definition.ts).
 */
export const localComputeEnvSchema = z.object({
  /**
   * How an instance's `data/` is made (local/volume.ts): `loop` (a loop-mounted ext4 image of
   * the volume's size; refuses to start where the host cannot), `directory` (a plain directory,
   * size not enforced) or `auto` (loop where the host can, else directory, logged once).
   */
  COFFER_LOCAL_VOLUMES: z
    .preprocess(
      (value) => (typeof value === 'string' && value.trim() ? value.trim().toLowerCase() : 'auto'),
      z.enum(['auto', 'loop', 'directory']),
    )
    .default('auto'),
  /**
   * The warm pool of ready volume images (local/volume-pool.ts): `<GB>:<count>` pairs
   * (default `1:8,2:2,5:2,10:2`), or `off`. Checked by `parseVolumePoolSpec`.
   */
  COFFER_LOCAL_VOLUME_POOL: z.string().optional(),
  /**
   * The warm pool of standby guests (local/guest-pool.ts) that the taskmanager keeps: a count
   * (default 2), or `off`. Checked by `parseGuestPoolSize`.
   */
  COFFER_LOCAL_GUEST_POOL: z.string().optional(),
  /**
   * Flavor limits (local/cgroups.ts): `auto` (each instance in a cgroup with its flavor's CPU
   * and memory where the host allows, else unconfined, logged once), `off`, or `required`
   * (the worker refuses to start where instances cannot be confined).
   */
  COFFER_LOCAL_CGROUPS: z
    .preprocess(
      (value) => (typeof value === 'string' && value.trim() ? value.trim().toLowerCase() : 'auto'),
      z.enum(['auto', 'off', 'required']),
    )
    .default('auto'),
});
export type LocalComputeEnv = z.infer<typeof localComputeEnvSchema>;

export function localComputeEnv(env: NodeJS.ProcessEnv = process.env): LocalComputeEnv {
  return localComputeEnvSchema.parse(env);
}
