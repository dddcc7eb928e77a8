import { z } from 'zod';

/**
 * A standby guest (issue 18's fast creates): a guest agent started ahead by the local compute
 * provider's warm pool (`guest --standby <pool dir>`), its modules loaded, waiting on its IPC
 * channel to be given an instance. The provider's side is packages/compute
 * (local/guest-pool.ts), the guest's apps/guest (agent-bundle.ts).
 *
 * 1. guest → provider `ready`: every module a guest evaluates at start has been evaluated.
 * 2. provider → guest `assign`: the instance's config dir and root (the guest makes the root its
 *    working directory, which is how the provider tells which instance a standby-born guest
 *    serves) and the CPU priority to run at (a standby waits at the lowest one).
 * 3. guest → provider `assigned` (or `refused`, with why), then the guest closes the channel and
 *    runs as if started with `--config-dir`.
 *
 * A standby whose channel closes before step 2 exits: one never outlives its pool's process.
 */

/** The command-line flag of a standby; its value is the pool's directory. */
export const GUEST_STANDBY_FLAG = '--standby';

export const guestStandbyReadySchema = z.object({ type: z.literal('ready') });

export const guestStandbyAssignSchema = z.object({
  type: z.literal('assign'),
  configDir: z.string().min(1),
  root: z.string().min(1),
  /** The nice value to run at (the provider's own; a standby waits at 19). */
  priority: z.int().min(-20).max(19),
});
export type GuestStandbyAssign = z.infer<typeof guestStandbyAssignSchema>;

export const guestStandbyReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('assigned') }),
  z.object({ type: z.literal('refused'), reason: z.string() }),
]);
export type GuestStandbyReply = z.infer<typeof guestStandbyReplySchema>;
