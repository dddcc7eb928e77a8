import { z } from 'zod';

/**
 * Resize (Trove's resize_flavor and resize_volume; issue 13): the job the taskmanager runs,
 * the record of a resize under way that the instance row keeps (`Instance.resizeState`), and
 * the guest's two methods.
 *
 * The web app writes the row RESIZING with its {@link ResizeState} in one conditional update
 * and queues `instance.resize` (job id `instance.resize-<instanceId>`). The job drives the
 * instance from `from` to `to`; a failure rolls back to `from` and leaves a fault. The
 * watchdog finishes a resize whose job died: a volume rolls forward (a volume only grows,
 * and growing again is harmless), a flavor rolls back to the one the instance ran with.
 */

/** A flavor's size as a resize records it (the flavor row may be edited meanwhile). */
export const resizeFlavorSchema = z.object({
  flavorId: z.uuid(),
  name: z.string(),
  vcpus: z.number().int().positive(),
  ramMb: z.number().int().positive(),
});
export type ResizeFlavor = z.infer<typeof resizeFlavorSchema>;

export const resizeStateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('flavor'),
    from: resizeFlavorSchema,
    to: resizeFlavorSchema,
    /** When the web app accepted it (ISO 8601). */
    startedAt: z.string(),
  }),
  z.object({
    kind: z.literal('volume'),
    fromGb: z.number().int().positive(),
    toGb: z.number().int().positive(),
    startedAt: z.string(),
  }),
]);
export type ResizeState = z.infer<typeof resizeStateSchema>;

/**
 * `instance.resize`: drives the instance to its `resizeState.to` (`direction: 'forward'`, what
 * the web app queues) or back to its `from` (`'rollback'`, what the watchdog queues for a
 * flavor resize whose job died).
 */
export const instanceResizeJobSchema = z.object({
  instanceId: z.uuid(),
  direction: z.enum(['forward', 'rollback']).default('forward'),
});
export type InstanceResizeJob = z.infer<typeof instanceResizeJobSchema>;

/** What the guest's `apply_flavor` reports: the sizing now in the server's config. */
export const appliedSizingSchema = z.object({
  innodbBufferPoolMb: z.number().int(),
  maxConnections: z.number().int(),
  /** False when the config already had this sizing and the server ran: nothing was restarted. */
  restarted: z.boolean(),
});

export const resizeGuestMethods = {
  /**
   * Rewrites the server's config for a flavor's RAM and vCPUs (buffer pool, connection limits:
   * the lines prepare wrote from the flavor; overrides and read_only are kept) and restarts the
   * server. A server that does not start with the new config gets its old config back and is
   * started again, and the method fails with the reason. The same flavor again with the server
   * running does nothing.
   */
  apply_flavor: {
    params: z.object({
      memoryMb: z.number().int().positive(),
      vcpus: z.number().int().positive(),
    }),
    result: appliedSizingSchema,
  },
  /** The volume's filesystem (the datadir's) as it is now: bytes used and in all. */
  volume_usage: {
    params: z.object({}),
    result: z.object({
      usedBytes: z.number().int().nonnegative(),
      totalBytes: z.number().int().nonnegative(),
    }),
  },
} as const;
