import { join, resolve } from 'node:path';

import { DEFAULT_PORT_RANGE, type PortRange } from '@coffer/compute';
import {
  CONDUCTOR_GROUP,
  CONDUCTOR_STREAM,
  EVENTS_CHANNEL,
  type ObjectStoreConfig,
} from '@coffer/contracts';

import { type WorkerEnv } from './env';

/**
 * Everything the three roles need to know, from the environment plus what a caller of
 * startWorker may set (names of the Redis structures, for tests that share one Redis; and
 * timings, for tests that cannot wait minutes).
 */
export interface WorkerTuning {
  /** Taskmanager jobs one process runs at once. */
  taskmanagerConcurrency: number;
  /** BullMQ lock of a running job: a worker that dies leaves it to others after this long. */
  jobLockDurationMs: number;
  /** How often BullMQ looks for jobs whose worker died. */
  stalledIntervalMs: number;
  /** How often a job may be found stalled before BullMQ gives up on it (our steps are idempotent). */
  maxStalledCount: number;
  /** While waiting for a guest: re-read the row this often even without a change event. */
  waitFallbackMs: number;
  /** After a guest reports FAILED: how long to wait for its fault message. */
  faultGraceMs: number;
  /** How long the guest's `restart` may take before the server is rebooted. */
  restartCallTimeoutMs: number;
  /** After a restart or reboot: how long to wait for a RUNNING heartbeat. */
  restartHeartbeatTimeoutMs: number;
  /** How often the watchdog runs due backup schedules, retention, and settles backups nobody runs. */
  backupScheduleIntervalMs: number;
  /** How long a call (databases, users, root) waits for the guest's answer. */
  guestCallTimeoutMs: number;
  /** Replication: how long a guest may take over one step (attach, read-only, stop, accounts). */
  replicationCallTimeoutMs: number;
  /** Promote and eject: how long a replica may take to apply what its source wrote before the switch. */
  replicationCatchUpTimeoutMs: number;
  /** XREADGROUP BLOCK. */
  conductorBlockMs: number;
  /** Entries written per statement round when the conductor writes its plain heartbeats (also XAUTOCLAIM's COUNT). */
  conductorBatchSize: number;
  /** XREADGROUP COUNT: a backlog is read at once, so that a status change in it is applied first, not after the heartbeats ahead of it. */
  conductorReadCount: number;
  /**
   * How long the conductor may hold heartbeats that change nothing users see before writing them
   * (in one statement with the others held): status changes and faults are written at once.
   */
  conductorFlushMs: number;
  /** Instances whose entries the conductor applies at once (each instance's in order). */
  conductorConcurrency: number;
  /** Entries pending longer than this (a dead consumer's, or ours after a failed write) are claimed again. */
  conductorReclaimIdleMs: number;
  conductorReclaimIntervalMs: number;
  /** How often acknowledged history is trimmed from the stream. */
  conductorTrimIntervalMs: number;
  /** How often a conductor process renews its membership and looks at who holds which shard. */
  conductorMembershipMs: number;
  /** A conductor process not heard of for this long is gone: its shards go to the others. */
  conductorMemberTtlMs: number;
  /** How often the watchdog looks for silent guests. Default: the heartbeat interval. */
  watchdogIntervalMs: number;
  /** How often the watchdog starts again the guests that died unasked (0: never; tests that play a dead host). */
  guestSupervisionIntervalMs: number;
  /** How often servers and rows are reconciled. */
  reconcileIntervalMs: number;
  /** A server without a row, or a BUILDING row without a job, is left alone this long (a create may be in flight). */
  orphanGraceMs: number;
}

export interface WorkerNames {
  /** BullMQ key prefix of the taskmanager queue (the web app uses BullMQ's default, `bull`). */
  queuePrefix: string;
  conductorStream: string;
  conductorGroup: string;
  eventsChannel: string;
  /** Prefix of the worker's own Redis keys (the watchdog's lock). */
  keyPrefix: string;
}

export interface WorkerSettings extends WorkerNames {
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  masterKey: string;
  dataDir: string | undefined;
  computeProvider: WorkerEnv['COFFER_COMPUTE_PROVIDER'];
  instanceHost: string;
  instanceBindAddress: string;
  portRange: PortRange;
  heartbeatIntervalSeconds: number;
  heartbeatExpirySeconds: number;
  createTimeoutSeconds: number;
  /** The conductor drops a guest message whose sentAt is further than this from the control plane's clock. */
  conductorClockSkewMs: number;
  /** Shards of the conductor stream (COFFER_CONDUCTOR_SHARDS; @coffer/contracts conductorShardStream). */
  conductorShards: number;
  guestRedisUrl: string | undefined;
  /** Whether guests get Redis users of their own (guest-redis-access.ts). */
  guestRedisAcl: WorkerEnv['COFFER_GUEST_REDIS_ACL'];
  /** Where backups go; null when no place is configured (then no taskmanager or watchdog may run). */
  backupStore: ObjectStoreConfig | null;
  /** Swift: each completed backup's chunks also as one Static Large Object (COFFER_SWIFT_SLO). */
  backupSwiftSlo: boolean;
  backupChunkBytes: number;
  backupUploadConcurrency: number;
  /** The default backups quota of a project (scheduled backups count against it; -1: unlimited). */
  defaultBackupQuota: number;
  backupZstdLevel: number;
  /** How long a direct stream of a replica's snapshot waits for its peers; 0: the object store only. */
  replicaStreamWindowMs: number;
  logLevel: WorkerEnv['LOG_LEVEL'];
  tuning: WorkerTuning;
}

export function defaultTuning(
  env: Pick<
    WorkerEnv,
    | 'COFFER_HEARTBEAT_INTERVAL_SECONDS'
    | 'COFFER_CONDUCTOR_CONCURRENCY'
    | 'COFFER_TASKMANAGER_CONCURRENCY'
  >,
): WorkerTuning {
  return {
    taskmanagerConcurrency: env.COFFER_TASKMANAGER_CONCURRENCY,
    jobLockDurationMs: 30_000,
    stalledIntervalMs: 15_000,
    maxStalledCount: 3,
    waitFallbackMs: 500,
    faultGraceMs: 3_000,
    restartCallTimeoutMs: 120_000,
    restartHeartbeatTimeoutMs: 90_000,
    guestCallTimeoutMs: 20_000,
    replicationCallTimeoutMs: 90_000,
    replicationCatchUpTimeoutMs: 300_000,
    backupScheduleIntervalMs: 30_000,
    conductorBlockMs: 2_000,
    conductorBatchSize: 200,
    conductorReadCount: 1_000,
    conductorFlushMs: 100,
    conductorConcurrency: env.COFFER_CONDUCTOR_CONCURRENCY,
    conductorReclaimIdleMs: 30_000,
    conductorReclaimIntervalMs: 10_000,
    conductorTrimIntervalMs: 60_000,
    conductorMembershipMs: 1_000,
    conductorMemberTtlMs: 5_000,
    watchdogIntervalMs: Math.max(500, Math.round(env.COFFER_HEARTBEAT_INTERVAL_SECONDS * 1000)),
    guestSupervisionIntervalMs: Math.max(
      1000,
      Math.round(env.COFFER_HEARTBEAT_INTERVAL_SECONDS * 1000),
    ),
    reconcileIntervalMs: 60_000,
    orphanGraceMs: 10 * 60_000,
  };
}

export const DEFAULT_NAMES: WorkerNames = {
  queuePrefix: 'bull',
  conductorStream: CONDUCTOR_STREAM,
  conductorGroup: CONDUCTOR_GROUP,
  eventsChannel: EVENTS_CHANNEL,
  keyPrefix: 'coffer',
};

export function buildSettings(
  env: WorkerEnv,
  names: Partial<WorkerNames> = {},
  tuning: Partial<WorkerTuning> = {},
): WorkerSettings {
  return {
    ...DEFAULT_NAMES,
    queuePrefix: env.COFFER_QUEUE_PREFIX,
    ...names,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    masterKey: env.COFFER_MASTER_KEY,
    dataDir: env.COFFER_DATA_DIR,
    computeProvider: env.COFFER_COMPUTE_PROVIDER,
    instanceHost: env.COFFER_INSTANCE_HOST,
    instanceBindAddress: env.COFFER_INSTANCE_BIND_ADDRESS,
    portRange: env.COFFER_INSTANCE_PORT_RANGE ?? DEFAULT_PORT_RANGE,
    heartbeatIntervalSeconds: env.COFFER_HEARTBEAT_INTERVAL_SECONDS,
    heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
    createTimeoutSeconds: env.COFFER_CREATE_TIMEOUT_SECONDS,
    conductorClockSkewMs: env.COFFER_CONDUCTOR_CLOCK_SKEW_SECONDS * 1000,
    conductorShards: env.COFFER_CONDUCTOR_SHARDS,
    guestRedisUrl: env.COFFER_GUEST_REDIS_URL ?? env.REDIS_URL,
    guestRedisAcl: env.COFFER_GUEST_REDIS_ACL,
    backupStore: backupStoreOf(env),
    backupSwiftSlo: env.COFFER_SWIFT_SLO === 'on',
    backupChunkBytes: env.COFFER_BACKUP_CHUNK_MB * 1024 * 1024,
    backupUploadConcurrency: env.COFFER_BACKUP_UPLOAD_CONCURRENCY,
    backupZstdLevel: env.COFFER_BACKUP_ZSTD_LEVEL,
    replicaStreamWindowMs: env.COFFER_REPLICA_STREAM_WINDOW_MS,
    defaultBackupQuota: env.COFFER_QUOTA_BACKUPS,
    logLevel: env.LOG_LEVEL,
    tuning: { ...defaultTuning(env), ...tuning },
  };
}

/** The object store backups go to, from COFFER_BACKUP_STORE and its settings. */
export function backupStoreOf(env: WorkerEnv): ObjectStoreConfig | null {
  if (env.COFFER_BACKUP_STORE === 'swift' && env.COFFER_SWIFT_AUTH === 'keystone') {
    return {
      kind: 'swift',
      auth: 'keystone',
      authUrl: env.COFFER_OPENSTACK_AUTH_URL!,
      // An application credential when one is set (as the compute provider does), else the user's password.
      credentials: env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID
        ? {
            type: 'application_credential',
            id: env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID,
            secret: env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET!,
          }
        : {
            type: 'password',
            username: env.COFFER_OPENSTACK_USERNAME!,
            password: env.COFFER_OPENSTACK_PASSWORD!,
            userDomainName: env.COFFER_OPENSTACK_USER_DOMAIN_NAME,
            projectName: env.COFFER_OPENSTACK_PROJECT_NAME!,
            projectDomainName: env.COFFER_OPENSTACK_PROJECT_DOMAIN_NAME,
          },
      region: env.COFFER_OPENSTACK_REGION,
      interface: env.COFFER_OPENSTACK_INTERFACE,
      container: env.COFFER_SWIFT_CONTAINER,
    };
  }
  if (env.COFFER_BACKUP_STORE === 'swift') {
    return {
      kind: 'swift',
      authUrl: env.COFFER_SWIFT_AUTH_URL!,
      user: env.COFFER_SWIFT_USER!,
      key: env.COFFER_SWIFT_KEY!,
      container: env.COFFER_SWIFT_CONTAINER,
    };
  }
  const root =
    env.COFFER_BACKUP_DIR ??
    (env.COFFER_DATA_DIR ? join(resolve(env.COFFER_DATA_DIR), 'backups') : undefined);
  return root ? { kind: 'local', root } : null;
}
