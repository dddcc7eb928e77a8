import 'server-only';

import {
  deriveDisplayStatus,
  displayStatusSchema,
  faultCodeSchema,
  replicationStateSchema,
  replicationStatusSchema,
  replicationStrategySchema,
  resizeStateSchema,
  serviceStatusSchema,
  taskStatusSchema,
} from '@coffer/contracts';
import { z } from 'zod';

import { env } from '~/env';

/** The columns every instance read selects (explicit: no secret column ever leaves the server). */
export const instanceSelect = {
  id: true,
  projectId: true,
  name: true,
  volumeSizeGb: true,
  volumeUsedBytes: true,
  volumeTotalBytes: true,
  isPublic: true,
  allowedCidrs: true,
  taskStatus: true,
  serviceStatus: true,
  resizeState: true,
  faultMessage: true,
  faultCode: true,
  restoredFromBackupId: true,
  host: true,
  port: true,
  guestVersion: true,
  lastHeartbeatAt: true,
  createdAt: true,
  updatedAt: true,
  replicaOfId: true,
  replicaOf: { select: { id: true, name: true } },
  replicationState: true,
  replicationLagSeconds: true,
  replicationError: true,
  replicationStatus: true,
  _count: { select: { replicas: { where: { deletedAt: null } } } },
  flavor: { select: { id: true, name: true, vcpus: true, ramMb: true } },
  datastoreVersion: {
    select: {
      id: true,
      name: true,
      version: true,
      replicationStrategy: true,
      backupStrategy: true,
      datastore: { select: { name: true } },
    },
  },
} as const;

/**
 * An instance's place in replication (Trove's replica_of / replicas). A broken replica keeps
 * serving reads, so its status stays ACTIVE: `state` BROKEN, with the server's `error`, is
 * what says it is broken (the console shows both).
 */
export const replicationViewSchema = z.object({
  /** SOURCE: has replicas; REPLICA: replicates from `source`; NONE: standalone. */
  role: z.enum(['SOURCE', 'REPLICA', 'NONE']),
  source: z.object({ id: z.string(), name: z.string() }).nullable(),
  replicaCount: z.number(),
  /** As the replica's heartbeats report it (null for a source or a standalone instance). */
  state: replicationStateSchema.nullable(),
  /** Seconds behind its source (Seconds_Behind_Master), while both threads run. */
  lagSeconds: z.number().nullable(),
  error: z.string().nullable(),
  /** How it is attached now: by GTID, or by binlog file and position. */
  mode: z.enum(['GTID', 'BINLOG']).nullable(),
  /** The server's @@gtid_current_pos as last reported. */
  gtidPosition: z.string().nullable(),
  isReadOnly: z.boolean().nullable(),
  /** How new replicas of this datastore version are attached. */
  strategy: replicationStrategySchema,
});
export type ReplicationView = z.infer<typeof replicationViewSchema>;

const resizeFlavorViewSchema = z.object({
  name: z.string(),
  vcpus: z.number(),
  ramMb: z.number(),
});

/** The resize under way (status RESIZE): what the instance is being resized from and to. */
export const resizeViewSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('flavor'),
    from: resizeFlavorViewSchema,
    to: resizeFlavorViewSchema,
    startedAt: z.string(),
  }),
  z.object({
    kind: z.literal('volume'),
    fromGb: z.number(),
    toGb: z.number(),
    startedAt: z.string(),
  }),
]);
export type ResizeView = z.infer<typeof resizeViewSchema>;

export const instanceViewSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  status: displayStatusSchema,
  taskStatus: taskStatusSchema,
  serviceStatus: serviceStatusSchema,
  faultMessage: z.string().nullable(),
  /**
   * What kind of fault `faultMessage` is, for clients that act on one: match this, never the
   * message's text (which may be reworded). `VOLUME_FULL`: the volume is full and the server
   * refuses writes (grow the volume or delete data; it clears itself once there is room).
   * Null when there is no fault, or for a fault without a code. More codes may be added.
   */
  faultCode: faultCodeSchema.nullable(),
  /** The backup this instance was restored from, if it was. */
  restoredFromBackupId: z.string().nullable(),
  volumeSizeGb: z.number(),
  /** While RESIZE: the flavor or volume size the instance is being resized to (null otherwise). */
  resize: resizeViewSchema.nullable(),
  /**
   * The volume's filesystem as the guest last reported it (bytes, as numbers: far below 2^53),
   * null before its first report (or from a guest too old to report it).
   */
  volumeUsage: z.object({ usedBytes: z.number(), totalBytes: z.number() }).nullable(),
  /** Allowed sources (Trove's access): public or private (the default), and the CIDRs let in. */
  isPublic: z.boolean(),
  allowedCidrs: z.array(z.string()),
  host: z.string().nullable(),
  port: z.number().nullable(),
  guestVersion: z.string().nullable(),
  lastHeartbeatAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  flavor: z.object({ id: z.string(), name: z.string(), vcpus: z.number(), ramMb: z.number() }),
  /** backupStrategy: what a backup is when none is named (PHYSICAL full, or LOGICAL; no incrementals then). */
  datastore: z.object({
    name: z.string(),
    version: z.string(),
    versionName: z.string(),
    backupStrategy: z.enum(['PHYSICAL', 'LOGICAL']),
  }),
  replication: replicationViewSchema,
});
export type InstanceView = z.infer<typeof instanceViewSchema>;

interface InstanceRow {
  id: string;
  projectId: string;
  name: string;
  volumeSizeGb: number;
  volumeUsedBytes: bigint | null;
  volumeTotalBytes: bigint | null;
  isPublic: boolean;
  allowedCidrs: string[];
  taskStatus: z.infer<typeof taskStatusSchema>;
  serviceStatus: z.infer<typeof serviceStatusSchema>;
  resizeState: unknown;
  faultMessage: string | null;
  faultCode: string | null;
  restoredFromBackupId: string | null;
  host: string | null;
  port: number | null;
  guestVersion: string | null;
  lastHeartbeatAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  replicaOfId: string | null;
  replicaOf: { id: string; name: string } | null;
  replicationState: z.infer<typeof replicationStateSchema> | null;
  replicationLagSeconds: number | null;
  replicationError: string | null;
  replicationStatus: unknown;
  _count: { replicas: number };
  flavor: { id: string; name: string; vcpus: number; ramMb: number };
  datastoreVersion: {
    id: string;
    name: string;
    version: string;
    replicationStrategy: z.infer<typeof replicationStrategySchema>;
    backupStrategy: 'PHYSICAL' | 'LOGICAL';
    datastore: { name: string };
  };
}

function toReplicationView(row: InstanceRow): ReplicationView {
  const report = replicationStatusSchema.safeParse(row.replicationStatus);
  const status = report.success ? report.data : null;
  const isReplica = row.replicaOfId !== null;
  return {
    role: isReplica ? 'REPLICA' : row._count.replicas > 0 ? 'SOURCE' : 'NONE',
    source: row.replicaOf,
    replicaCount: row._count.replicas,
    state: isReplica ? row.replicationState : null,
    lagSeconds: isReplica ? row.replicationLagSeconds : null,
    error: isReplica ? row.replicationError : null,
    mode:
      isReplica && status?.replica ? (status.replica.usingGtid === 'NO' ? 'BINLOG' : 'GTID') : null,
    gtidPosition: status ? status.gtidCurrentPosition : null,
    isReadOnly: status ? status.isReadOnly : null,
    strategy: row.datastoreVersion.replicationStrategy,
  };
}

/** The row's resize record as users see it (no flavor ids), while the resize runs. */
function toResizeView(row: InstanceRow): ResizeView | null {
  if (row.taskStatus !== 'RESIZING') return null;
  const parsed = resizeStateSchema.safeParse(row.resizeState);
  if (!parsed.success) return null;
  const state = parsed.data;
  if (state.kind === 'volume') return state;
  const flavorOf = ({ name, vcpus, ramMb }: typeof state.to) => ({ name, vcpus, ramMb });
  return {
    kind: 'flavor',
    from: flavorOf(state.from),
    to: flavorOf(state.to),
    startedAt: state.startedAt,
  };
}

/** A row as users see it: with the one derived status. */
export function toInstanceView(row: InstanceRow, now = new Date()): InstanceView {
  const {
    datastoreVersion,
    replicaOfId: _replicaOfId,
    replicaOf: _replicaOf,
    replicationState: _state,
    replicationLagSeconds: _lag,
    replicationError: _error,
    replicationStatus: _status,
    _count,
    volumeUsedBytes,
    volumeTotalBytes,
    resizeState: _resizeState,
    ...rest
  } = row;
  return {
    ...rest,
    // A code this build does not know (written by a newer one) is shown as none.
    faultCode: faultCodeSchema.safeParse(row.faultCode).data ?? null,
    resize: toResizeView(row),
    volumeUsage:
      volumeUsedBytes !== null && volumeTotalBytes !== null && volumeTotalBytes > 0n
        ? { usedBytes: Number(volumeUsedBytes), totalBytes: Number(volumeTotalBytes) }
        : null,
    replication: toReplicationView(row),
    status: deriveDisplayStatus({
      taskStatus: row.taskStatus,
      serviceStatus: row.serviceStatus,
      lastHeartbeatAt: row.lastHeartbeatAt,
      now,
      heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
    }),
    datastore: {
      name: datastoreVersion.datastore.name,
      version: datastoreVersion.version,
      versionName: datastoreVersion.name,
      backupStrategy: datastoreVersion.backupStrategy,
    },
  };
}
