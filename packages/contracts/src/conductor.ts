import { z } from 'zod';

import { backupReportSchema } from './backup';
import { metricsSampleSchema } from './metrics';
import { replicationStatusSchema } from './replication';
import { serviceStatusSchema } from './status';

/**
 * Guest → conductor messages on the Redis stream {@link CONDUCTOR_STREAM} (consumer group
 * {@link CONDUCTOR_GROUP}). Each stream entry has two fields: `body` (the JSON of a
 * {@link ConductorMessage}) and `sig` (hex HMAC-SHA256 of `body` with the sending instance's
 * signing key). The conductor verifies the HMAC with the key of the instance named *inside*
 * the body, so a guest can only speak for itself. It drops any message whose `sentAt` is
 * further from the control plane's clock than its skew window (future or past), then anything
 * not newer, by (`epoch`, `seq`), than what it already applied to the instance: the guest's
 * clock never orders messages. A restart through the control plane re-bases that order.
 */
export const CONDUCTOR_STREAM = 'conductor';
export const CONDUCTOR_GROUP = 'conductor';
/**
 * Shard streams of the conductor stream: each guest is told one, `<stream>:<shard>`
 * ({@link conductorShardStream}), and each conductor process reads the shards it holds (so one
 * process reads all of a guest's messages), besides the stream itself, which every process reads
 * (older guests, and tools). 12 splits evenly over 1, 2, 3, 4 and 6 processes. A deployment may
 * raise it, never lower it: a guest keeps the stream it was told until its server is made again.
 */
export const DEFAULT_CONDUCTOR_SHARDS = 12;

/** The shard of the conductor stream an instance's guest writes to (FNV-1a of its lower-case id). */
export function conductorShardOf(instanceId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (const char of instanceId.toLowerCase()) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** The stream name of shard `shard` of `stream`. */
export function conductorShardName(stream: string, shard: number): string {
  return `${stream}:${shard}`;
}

/** The stream an instance's guest is told to write to: its shard of `stream`. */
export function conductorShardStream(stream: string, instanceId: string, shards: number): string {
  return conductorShardName(stream, conductorShardOf(instanceId, shards));
}

export const heartbeatPayloadSchema = z.object({
  serviceStatus: serviceStatusSchema,
  guestVersion: z.string(),
  /** The database server's own version string (e.g. "10.11.9-MariaDB"), once known. */
  serverVersion: z.string().nullable().default(null),
  /**
   * What the server says about replication (its positions, read-only, its source's threads),
   * when the guest could ask it; absent from older guests and while the server is down.
   */
  replication: replicationStatusSchema.optional(),
  /**
   * The volume (the filesystem of the datadir, statfs): bytes used and in all, and `fault` when
   * it is full (the server refuses writes): the message the tenant reads (it starts
   * {@link VOLUME_FULL_FAULT_PREFIX}), which the conductor makes the instance's fault with the
   * code `VOLUME_FULL` (errors.ts: FAULT_CODES) and clears once a beat says null. Absent from
   * older guests.
   */
  volume: z
    .object({
      usedBytes: z.number().int().nonnegative(),
      totalBytes: z.number().int().nonnegative(),
      fault: z.string().max(2000).nullable().default(null),
    })
    .optional(),
});
/**
 * How the guest words a full volume's fault. For people only: code recognises that fault by
 * its code, `VOLUME_FULL` (the instance's `faultCode`), never by this text.
 */
export const VOLUME_FULL_FAULT_PREFIX = 'The volume is full';
export type HeartbeatPayload = z.infer<typeof heartbeatPayloadSchema>;

/** A failure the tenant should read (e.g. prepare failed): becomes the instance's fault. */
export const faultPayloadSchema = z.object({
  operation: z.string(),
  message: z.string().max(2000),
  details: z.string().max(20_000).optional(),
});
export type FaultPayload = z.infer<typeof faultPayloadSchema>;

/** What can happen to an instance unasked, recorded in its event timeline (InstanceEvent). */
export const instanceEventKinds = [
  /** The database server died without being asked to stop, and the guest started it again. */
  'server_restarted',
  /** The server kept dying or would not start: the guest stopped trying (the fault says why). */
  'server_crash_loop',
  /** The guest agent died and the compute provider started it again. */
  'guest_restarted',
  /** The guest agent kept dying: the compute provider stopped trying. */
  'guest_crash_loop',
] as const;
export const instanceEventKindSchema = z.enum(instanceEventKinds);
export type InstanceEventKind = z.infer<typeof instanceEventKindSchema>;

/** Something that happened to the instance, for its event timeline (not a status change). */
export const eventPayloadSchema = z.object({
  kind: instanceEventKindSchema,
  message: z.string().min(1).max(1000),
});
export type EventPayload = z.infer<typeof eventPayloadSchema>;

const baseFields = {
  instanceId: z.uuid(),
  /**
   * Milliseconds since 1970, on the guest's clock: only checked against the control plane's
   * clock (the conductor's skew window), never used to order messages.
   */
  sentAt: z.number().int().nonnegative(),
  /**
   * The guest's boot number: kept in the guest's own state dir and raised at every start of the
   * guest, so it survives restarts (0 from guests older than it).
   */
  epoch: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  /** Increases by one with every message within one epoch (one guest process), from 0. */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
};

export const conductorMessageSchema = z.discriminatedUnion('kind', [
  z.object({ ...baseFields, kind: z.literal('heartbeat'), payload: heartbeatPayloadSchema }),
  z.object({ ...baseFields, kind: z.literal('fault'), payload: faultPayloadSchema }),
  /** A backup's progress and end (backup.ts); the conductor applies it to that backup only if it is this instance's. */
  z.object({ ...baseFields, kind: z.literal('backup'), payload: backupReportSchema }),
  /** An entry of the instance's event timeline (apply-event.ts): recorded once, never reorders status. */
  z.object({ ...baseFields, kind: z.literal('event'), payload: eventPayloadSchema }),
  /**
   * A metrics sample (metrics.ts), taken at `sentAt`: stored once per (instance, sentAt), in
   * any order; never reorders status (the conductor's apply-metrics.ts).
   */
  z.object({ ...baseFields, kind: z.literal('metrics'), payload: metricsSampleSchema }),
]);
export type ConductorMessage = z.infer<typeof conductorMessageSchema>;
export type ConductorMessageKind = ConductorMessage['kind'];

/** The two fields of a stream entry. */
export interface ConductorEntry {
  body: string;
  sig: string;
}
