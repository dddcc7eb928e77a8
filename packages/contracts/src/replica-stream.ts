import { z } from 'zod';

import { sealedSecretSchema } from './sealed';

/**
 * A replica seeded by a direct stream (issue 18): its source's guest sends the snapshot's
 * physical backup straight to the replica's guest over TLS with a pre-shared key (TLS-PSK,
 * the key one-time per snapshot, from the control plane, sealed for each guest), and the
 * replica unpacks it as it arrives. Several replicas of one snapshot share one stream. The
 * object store is the fallback: a source no replica reached within `connectWindowMs` stores
 * the snapshot there as before, and a replica that cannot reach its source follows it there.
 */

/** The associated data the stream's key is sealed with: one snapshot's. */
export function replicaStreamKeyAad(backupId: string): string {
  return `replica-stream:${backupId}`;
}

/** The TLS-PSK identity both ends use (the key is per snapshot, so the identity need not be secret). */
export function replicaStreamIdentity(backupId: string): string {
  return `coffer-snapshot-${backupId}`;
}

/** The default wait for the replicas' connections (source) and for the source (replica). */
export const DEFAULT_REPLICA_STREAM_WINDOW_MS = 30_000;

/** The source's side, in `create_backup`: where to listen and for how many replicas. */
export const sourceStreamSchema = z.object({
  port: z.number().int().min(1).max(65_535),
  /** The stream's key (base64 of 32 bytes), sealed with {@link replicaStreamKeyAad}. */
  key: sealedSecretSchema,
  /** The stream starts once this many replicas are connected (or the window is over). */
  replicas: z.number().int().min(1).max(100),
  connectWindowMs: z.number().int().min(100).max(600_000).default(DEFAULT_REPLICA_STREAM_WINDOW_MS),
});
export type SourceStream = z.infer<typeof sourceStreamSchema>;

/** The replica's side, in `prepare`'s restore: where its source's guest listens. */
export const replicaStreamSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  key: sealedSecretSchema,
  connectWindowMs: z.number().int().min(100).max(600_000).default(DEFAULT_REPLICA_STREAM_WINDOW_MS),
});
export type ReplicaStream = z.infer<typeof replicaStreamSchema>;
