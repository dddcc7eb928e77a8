import {
  replicaStreamKeyAad,
  type ReplicaStream,
  type RestoreSpec,
  type SourceStream,
} from '@coffer/contracts';
import { deriveKey } from '@coffer/contracts/crypto';
import { type GuestClient } from '@coffer/guest-client';

import { type OperationContext } from '../taskmanager/operation';

/**
 * Replicas seeded by a direct stream (issue 18), the control plane's part: the snapshot's
 * one-time key (derived from the master key and the snapshot's id, so the source's
 * `create_backup` and each replica's `prepare` get the same one without storing it), sealed
 * for each guest, and where the source's guest listens, as the compute provider says
 * (`guestStreamEndpoint`). A provider that cannot say, or COFFER_REPLICA_STREAM_WINDOW_MS=0,
 * leaves the snapshot to the object store as before; the window is how long the source waits
 * for its replicas to connect (and a replica for its source) before the object store is used.
 */

type StreamContext = Pick<OperationContext, 'prisma' | 'provider' | 'settings' | 'logger'>;

/** The snapshot's stream key (32 bytes), the same for its source and its replicas. */
export function replicaStreamKey(masterKey: string, backupId: string): Buffer {
  return deriveKey(masterKey, 'coffer/replica-stream-key', `snapshot:${backupId}`);
}

function sealKey(ctx: StreamContext, client: GuestClient, backupId: string) {
  return client.sealSecret(
    replicaStreamKey(ctx.settings.masterKey, backupId).toString('base64'),
    replicaStreamKeyAad(backupId),
  );
}

async function endpointOf(ctx: StreamContext, instanceId: string) {
  if (ctx.settings.replicaStreamWindowMs === 0 || !ctx.provider.guestStreamEndpoint) return null;
  const source = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: { computeServerId: true },
  });
  if (!source?.computeServerId) return null;
  try {
    return await ctx.provider.guestStreamEndpoint(source.computeServerId);
  } catch (error) {
    ctx.logger.warn(
      { err: error },
      'no direct stream endpoint: the snapshot goes through the object store',
    );
    return null;
  }
}

/** `create_backup`'s `direct` for a replica's snapshot on its source, or nothing. */
export async function sourceStreamFor(
  ctx: StreamContext,
  client: GuestClient,
  sourceId: string,
  backupId: string,
): Promise<{ direct?: SourceStream }> {
  const endpoint = await endpointOf(ctx, sourceId);
  if (!endpoint) return {};
  const replicas = await ctx.prisma.instance.count({
    where: { restoredFromBackupId: backupId, replicaOfId: sourceId, taskStatus: 'BUILDING' },
  });
  if (replicas === 0) return {};
  return {
    direct: {
      port: endpoint.port,
      key: sealKey(ctx, client, backupId),
      replicas,
      connectWindowMs: Math.max(100, ctx.settings.replicaStreamWindowMs),
    },
  };
}

/** `prepare`'s restore `direct` for a replica whose snapshot is still being made, or nothing. */
export async function replicaStreamFor(
  ctx: StreamContext,
  client: GuestClient,
  replica: { replicaOfId: string | null; restoredFromBackupId: string | null },
): Promise<{ direct?: ReplicaStream }> {
  if (!replica.replicaOfId || !replica.restoredFromBackupId) return {};
  const endpoint = await endpointOf(ctx, replica.replicaOfId);
  if (!endpoint) return {};
  return {
    direct: {
      host: endpoint.host,
      port: endpoint.port,
      key: sealKey(ctx, client, replica.restoredFromBackupId),
      connectWindowMs: Math.max(100, ctx.settings.replicaStreamWindowMs),
    },
  };
}

/** A replica's restore spec with its direct stream when the snapshot is still being made (followed). */
export async function withReplicaStream(
  ctx: StreamContext,
  client: GuestClient,
  replica: { replicaOfId: string | null; restoredFromBackupId: string | null },
  spec: RestoreSpec,
): Promise<RestoreSpec> {
  if (spec.backups.length !== 1 || spec.backups[0]!.manifestSha256 !== null) return spec;
  return { ...spec, ...(await replicaStreamFor(ctx, client, replica)) };
}
