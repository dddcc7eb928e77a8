import { allocatePort, ComputeError, type ServerInfo } from '@coffer/compute';
import { guestQueueName, type GuestUserSpec, type InstanceCreateJob } from '@coffer/contracts';
import { jobPayloadKey, openSecret, SealError } from '@coffer/contracts/crypto';
import { Prisma } from '@coffer/db';
import { GuestClient } from '@coffer/guest-client';
import { Queue } from 'bullmq';

import { restoreSpecFor } from '../backup/restore-spec';
import {
  attachToSource,
  loadMember,
  releaseReplicaSnapshot,
} from '../replication/replication-steps';
import { throwIfAborted, waitForInstance } from '../events';
import { generateGuestSecret, openGuestSecret, sealGuestSecret } from '../guest-secret';
import {
  OperationFailure,
  skipped,
  type Fault,
  type Operation,
  type OperationContext,
  type OperationResult,
  recordInstanceFault,
} from './operation';

/**
 * `instance.create` (Trove's create_instance): a resumable sequence of idempotent steps, safe
 * to run again after a crash at any point.
 *
 * 1. Load the row; stop quietly if it is gone or no longer BUILDING (a delete wins).
 * 2. Allocate the port (local provider) and store it with the host.
 * 3. Generate the guest's secret and store it sealed.
 * 4. Create the server (idempotent per instance) and store its id.
 * 5. Cast `prepare` with a deterministic job id: a retried create never prepares twice.
 * 6. Wait, on change events, until the conductor has applied RUNNING (or FAILED, or time runs out).
 * 7. Task NONE; publish.
 *
 * A restore (`restoreFromBackupId`) is the same create whose prepare fills the volume from the
 * backup's chain instead of an empty datadir (no early install). If it fails, the instance
 * ends BUILDING_ERROR with the fault (naming the backup and chunk when a chunk is bad), and
 * its server, processes and files are removed: no half-made instance stays behind.
 *
 * A replica (`replicaOfId`, Trove's `_create_replication_slave`) is a restore of its source's
 * snapshot: it first waits for that backup to complete, prepares read-only, and once RUNNING
 * is attached to its source (a replication account with a fresh password on the source, then
 * GTID or binlog file and position from the snapshot, as the datastore version's strategy
 * says) before its task ends; then the snapshot goes, once no replica of it is building.
 */

const createSelect = {
  id: true,
  projectId: true,
  taskStatus: true,
  serviceStatus: true,
  host: true,
  port: true,
  computeServerId: true,
  guestSecretEnc: true,
  volumeSizeGb: true,
  deletedAt: true,
  restoredFromBackupId: true,
  replicaOfId: true,
  datastoreVersionId: true,
  flavor: { select: { vcpus: true, ramMb: true } },
  datastoreVersion: {
    select: { name: true, replicationStrategy: true, datastore: { select: { manager: true } } },
  },
} as const satisfies Prisma.InstanceSelect;

type CreateRow = Prisma.InstanceGetPayload<{ select: typeof createSelect }>;

const statusSelect = {
  taskStatus: true,
  serviceStatus: true,
  faultMessage: true,
  faultDetails: true,
  deletedAt: true,
} as const satisfies Prisma.InstanceSelect;

/** The guest's RPC job id for the first prepare of an instance. */
export function prepareJobId(instanceId: string): string {
  return `prepare-${instanceId}`;
}

async function loadRow(ctx: OperationContext, instanceId: string): Promise<CreateRow | null> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: createSelect,
  });
  return row && !row.deletedAt ? row : null;
}

class StopCreate extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'StopCreate';
  }
}

/** A step boundary: stops when shutting down, when the row is gone, or when it is no longer being built. */
async function checkpoint(ctx: OperationContext, instanceId: string): Promise<CreateRow> {
  throwIfAborted(ctx.signal);
  const row = await loadRow(ctx, instanceId);
  if (!row) throw new StopCreate('the instance no longer exists');
  if (row.taskStatus !== 'BUILDING') throw new StopCreate(`the instance is ${row.taskStatus}`);
  return row;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/** Step 2: a port nobody else has (rows on this host, servers of this provider, anything listening). */
async function ensurePort(
  ctx: OperationContext,
  row: CreateRow,
  exclude: number[] = [],
): Promise<CreateRow> {
  if (row.port !== null && row.host !== null && !exclude.includes(row.port)) return row;
  if (ctx.provider.name !== 'local') return row;
  const { instanceHost, instanceBindAddress, portRange } = ctx.settings;
  const taken = new Set<number>(exclude);
  const rows = await ctx.prisma.instance.findMany({
    where: { host: instanceHost, port: { not: null }, id: { not: row.id } },
    select: { port: true },
  });
  for (const { port } of rows) if (port !== null) taken.add(port);
  for (const server of await ctx.provider.listServers()) {
    if (server.instanceId !== row.id) taken.add(server.port);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await allocatePort({ taken, range: portRange, host: instanceBindAddress });
    try {
      const { count } = await ctx.prisma.instance.updateMany({
        where: { id: row.id, taskStatus: 'BUILDING', port: row.port },
        data: { host: instanceHost, port },
      });
      if (count === 0) return checkpoint(ctx, row.id);
      ctx.logger.info({ port }, 'port allocated');
      return { ...row, host: instanceHost, port };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      taken.add(port);
    }
  }
  throw new Error('could not store a free port after 20 tries');
}

/** Step 3: the guest's secret, generated once and stored sealed; a concurrent run's secret wins. */
async function ensureGuestSecret(ctx: OperationContext, row: CreateRow): Promise<string> {
  const { masterKey } = ctx.settings;
  if (!row.guestSecretEnc) {
    const secret = generateGuestSecret();
    await ctx.prisma.instance.updateMany({
      where: { id: row.id, guestSecretEnc: null },
      data: { guestSecretEnc: sealGuestSecret(masterKey, row.id, secret) },
    });
  }
  const stored = await ctx.prisma.instance.findUnique({
    where: { id: row.id },
    select: { guestSecretEnc: true },
  });
  if (!stored?.guestSecretEnc) throw new StopCreate('the instance no longer exists');
  try {
    return openGuestSecret(masterKey, row.id, stored.guestSecretEnc);
  } catch (error) {
    if (error instanceof SealError) {
      throw new OperationFailure(
        "The instance could not be built: its guest secret cannot be opened with this control plane's master key.",
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Step 4. A port some other instance of this provider already claimed is given up for a fresh one. */
async function createServer(
  ctx: OperationContext,
  initial: CreateRow,
  guestSecret: string,
): Promise<{ row: CreateRow; server: ServerInfo }> {
  let row = initial;
  const manager = row.datastoreVersion.datastore.manager;
  if (manager !== 'mariadb') {
    throw new OperationFailure(
      `The datastore manager "${manager}" is not supported by this Coffer.`,
    );
  }
  const refused: number[] = [];
  for (;;) {
    try {
      const server = await ctx.provider.createServer({
        instanceId: row.id,
        projectId: row.projectId,
        flavor: { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb },
        volumeGb: row.volumeSizeGb,
        ...(row.port !== null ? { port: row.port } : {}),
        guestInfo: {
          instanceId: row.id,
          projectId: row.projectId,
          datastoreManager: manager,
          datastoreVersion: row.datastoreVersion.name,
        },
        agentConfig: {
          redisUrl: guestRedisUrl(ctx),
          rpcQueue: guestQueueName(row.id),
          conductorStream: ctx.settings.conductorStream,
          guestSecret,
          heartbeatIntervalSeconds: ctx.settings.heartbeatIntervalSeconds,
          // A fresh server: the guest may install the datadir while it boots. (Not for a
          // volume that will be filled from a backup or a source.)
          ...(row.restoredFromBackupId
            ? {}
            : { preinstall: { memoryMb: row.flavor.ramMb, vcpus: row.flavor.vcpus } }),
        },
      });
      return { row, server };
    } catch (error) {
      // ComputeError has no code; the local provider says "port <n> is already allocated".
      const isPortTaken =
        error instanceof ComputeError && /port [0-9]+ is already allocated/.test(error.message);
      if (!isPortTaken || row.port === null || refused.length >= 5) throw error;
      ctx.logger.warn(
        { port: row.port },
        'the port is claimed by another server: allocating another',
      );
      refused.push(row.port);
      row = await ensurePort(ctx, row, refused);
    }
  }
}

function guestRedisUrl(ctx: OperationContext): string {
  const url = ctx.settings.guestRedisUrl;
  if (!url)
    throw new OperationFailure(
      'The instance could not be built: the control plane has no Redis URL to give its guest.',
    );
  return url;
}

/** The initial users, their passwords opened with the job-payload key and sealed again for this guest. */
function sealUsersForGuest(
  ctx: OperationContext,
  client: GuestClient,
  users: InstanceCreateJob['users'],
): GuestUserSpec[] {
  const key = jobPayloadKey(ctx.settings.masterKey);
  return users.map((user) => {
    let password: string;
    try {
      password = openSecret(key, user.password, `user:${user.name}`);
    } catch (error) {
      if (error instanceof SealError) {
        throw new OperationFailure(
          `The password of user ${user.name} could not be read; create the instance again.`,
          undefined,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    return {
      name: user.name,
      host: user.host,
      databases: user.databases,
      password: client.sealUserPassword(user.name, password),
    };
  });
}

type BuildOutcome =
  | { kind: 'running' }
  | { kind: 'failed'; fault: Fault | null }
  | { kind: 'stopped'; reason: string };

async function run(ctx: OperationContext, payload: InstanceCreateJob): Promise<OperationResult> {
  const { instanceId } = payload;
  try {
    let row = await checkpoint(ctx, instanceId);
    if (row.replicaOfId && row.restoredFromBackupId) {
      await waitForSnapshot(ctx, row.id, row.replicaOfId, row.restoredFromBackupId);
      row = await checkpoint(ctx, instanceId);
    }
    row = await ensurePort(ctx, row);
    const guestSecret = await ensureGuestSecret(ctx, row);

    row = await checkpoint(ctx, instanceId);
    const created = await createServer(ctx, row, guestSecret);
    const { server } = created;
    row = created.row;
    const { count } = await ctx.prisma.instance.updateMany({
      where: { id: instanceId, taskStatus: 'BUILDING' },
      data: { computeServerId: server.serverId, host: server.host, port: server.port },
    });
    if (count === 0) {
      // Deleted (or its delete began) while the server was being made: make sure nothing is left.
      const after = await loadRow(ctx, instanceId);
      if (!after) await ctx.provider.deleteServer(server.serverId);
      return skipped('the instance was deleted while its server was created');
    }
    if (
      row.computeServerId !== server.serverId ||
      row.host !== server.host ||
      row.port !== server.port
    ) {
      await ctx.publisher.publish({
        type: 'instance.changed',
        projectId: row.projectId,
        instanceId,
      });
    }
    ctx.logger.info(
      { serverId: server.serverId, host: server.host, port: server.port },
      'server ready; preparing the guest',
    );

    throwIfAborted(ctx.signal);
    const client = new GuestClient({ connection: ctx.redis, instanceId, guestSecret });
    try {
      await client.cast(
        'prepare',
        {
          memoryMb: row.flavor.ramMb,
          vcpus: row.flavor.vcpus,
          databases: payload.databases,
          users: sealUsersForGuest(ctx, client, payload.users),
          isReadOnly: row.replicaOfId !== null,
          ...(payload.restoreFromBackupId
            ? {
                restore: await restoreSpecFor(
                  ctx.prisma,
                  ctx.settings,
                  client,
                  row,
                  payload.restoreFromBackupId,
                  { isFollowing: row.replicaOfId !== null },
                ),
              }
            : {}),
        },
        { jobId: prepareJobId(instanceId) },
      );
    } finally {
      await client.close();
    }

    const outcome = await waitUntilBuilt(
      ctx,
      instanceId,
      row.replicaOfId ? row.restoredFromBackupId : null,
    );
    if (outcome.kind === 'stopped') return skipped(outcome.reason);
    if (outcome.kind === 'failed') {
      const fault = outcome.fault ?? (await waitForFault(ctx, instanceId));
      throw new OperationFailure(
        fault?.message ?? 'The database server could not be prepared.',
        fault?.details,
      );
    }

    if (row.replicaOfId) await attachReplica(ctx, await checkpoint(ctx, instanceId));

    const finished = await ctx.prisma.instance.updateMany({
      where: { id: instanceId, taskStatus: 'BUILDING' },
      data: { taskStatus: 'NONE' },
    });
    if (finished.count === 0) return skipped('the instance stopped being built meanwhile');
    await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
    ctx.logger.info(row.replicaOfId ? 'replica is ACTIVE and replicating' : 'instance is ACTIVE');
    if (row.replicaOfId && row.restoredFromBackupId) {
      await releaseReplicaSnapshot(ctx, row.restoredFromBackupId);
    }
    return { outcome: 'done' };
  } catch (error) {
    if (error instanceof StopCreate) return skipped(error.reason);
    throw error;
  }
}

/**
 * A replica's first step: its source's snapshot (a backup the web app queued with it) must
 * be under way (BUILDING: the replica's restore follows it as it is written) or, with
 * `until: 'completed'` (the attach), complete. Backup events carry the source's id.
 */
async function waitForSnapshot(
  ctx: OperationContext,
  instanceId: string,
  sourceId: string,
  backupId: string,
  until: 'started' | 'completed' = 'started',
): Promise<'building' | 'completed'> {
  type Waited =
    | { kind: 'ready'; status: 'building' | 'completed' }
    | { kind: 'failed'; message: string }
    | { kind: 'stopped'; reason: string };
  const result = await waitForInstance(
    ctx.feed,
    sourceId,
    async () => ({
      backup: await ctx.prisma.backup.findUnique({
        where: { id: backupId },
        select: { status: true, faultMessage: true },
      }),
      replica: await loadRow(ctx, instanceId),
    }),
    ({ backup, replica }): Waited | undefined => {
      if (!replica) return { kind: 'stopped', reason: 'the instance no longer exists' };
      if (replica.taskStatus !== 'BUILDING')
        return { kind: 'stopped', reason: `the instance is ${replica.taskStatus}` };
      if (!backup || backup.status === 'DELETING') {
        return {
          kind: 'failed',
          message: 'The snapshot of the source is gone: the replica cannot be built.',
        };
      }
      if (backup.status === 'FAILED') {
        return {
          kind: 'failed',
          message: `The snapshot of the source failed, so the replica cannot be built: ${backup.faultMessage ?? 'no reason was given'}`,
        };
      }
      if (backup.status === 'COMPLETED') return { kind: 'ready', status: 'completed' };
      if (backup.status === 'BUILDING' && until === 'started')
        return { kind: 'ready', status: 'building' };
      return undefined;
    },
    {
      // The job's own timeout (jobs.ts) bounds the wait, as it bounds the backup.
      timeoutMs: Number.MAX_SAFE_INTEGER,
      fallbackMs: Math.max(ctx.settings.tuning.waitFallbackMs, 1000),
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) throw new Error('the snapshot did not complete in time');
  const waited = result.value;
  if (waited.kind === 'stopped') throw new StopCreate(waited.reason);
  if (waited.kind === 'failed') throw new OperationFailure(waited.message);
  if (until === 'started') {
    ctx.logger.info(
      { backupId, snapshot: waited.status },
      waited.status === 'building'
        ? "the source's snapshot is being written: restoring it as it comes"
        : "the source's snapshot is ready: restoring it",
    );
  }
  return waited.status;
}

/**
 * The last step of a replica's build: attach it to its source from the snapshot's position
 * (GTID, or binlog file and position, as its datastore version says; binlog when the
 * snapshot recorded no GTID). Safe to run again: the guest only sets the password anew.
 */
async function attachReplica(ctx: OperationContext, row: CreateRow): Promise<void> {
  const replica = await loadMember(ctx, row.id);
  const source = row.replicaOfId ? await loadMember(ctx, row.replicaOfId) : null;
  if (!replica) throw new StopCreate('the instance no longer exists');
  if (!source)
    throw new OperationFailure(
      'The source instance is gone: the replica cannot be attached to it.',
    );
  // Restored while it was written: the snapshot must have completed (its manifest recorded),
  // and the guest attaches only a server restored from exactly that manifest.
  if (row.restoredFromBackupId) {
    await waitForSnapshot(ctx, row.id, source.id, row.restoredFromBackupId, 'completed');
  }
  const snapshot = row.restoredFromBackupId
    ? await ctx.prisma.backup.findUnique({
        where: { id: row.restoredFromBackupId },
        select: {
          gtidPosition: true,
          binlogFile: true,
          binlogPosition: true,
          manifestSha256: true,
        },
      })
    : null;
  if (!snapshot)
    throw new OperationFailure(
      'The snapshot of the source is gone: the replica cannot be attached.',
    );
  const binlog =
    snapshot.binlogFile && snapshot.binlogPosition !== null
      ? { file: snapshot.binlogFile, position: Number(snapshot.binlogPosition) }
      : null;
  let strategy = row.datastoreVersion.replicationStrategy;
  if (strategy === 'GTID' && snapshot.gtidPosition === null && binlog) {
    ctx.logger.warn(
      'the snapshot recorded no GTID position: attaching by binlog file and position',
    );
    strategy = 'BINLOG';
  }
  if (strategy === 'BINLOG' && !binlog) {
    throw new OperationFailure(
      'The snapshot recorded no binary log position: the source keeps no binary log to replicate from.',
    );
  }
  throwIfAborted(ctx.signal);
  await attachToSource(ctx, replica, source, {
    kind: 'snapshot',
    strategy,
    ...(snapshot.manifestSha256 ? { manifestSha256: snapshot.manifestSha256 } : {}),
    gtid: snapshot.gtidPosition ?? '',
    binlog,
  });
}

/**
 * Step 6: RUNNING applied by the conductor, FAILED, the row gone or no longer BUILDING, or
 * the timeout. A replica restoring its source's snapshot as it is written also fails when
 * the snapshot fails (its guest, still waiting for chunks, goes with the failed build).
 */
async function waitUntilBuilt(
  ctx: OperationContext,
  instanceId: string,
  snapshotId: string | null,
): Promise<BuildOutcome> {
  const seconds = ctx.settings.createTimeoutSeconds;
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    async () => ({
      row: await ctx.prisma.instance.findUnique({
        where: { id: instanceId },
        select: statusSelect,
      }),
      snapshot: snapshotId
        ? await ctx.prisma.backup.findUnique({
            where: { id: snapshotId },
            select: { status: true, faultMessage: true },
          })
        : undefined,
    }),
    ({ row, snapshot }): BuildOutcome | undefined => {
      if (!row || row.deletedAt)
        return { kind: 'stopped', reason: 'the instance no longer exists' };
      if (
        snapshotId &&
        (!snapshot || snapshot.status === 'FAILED' || snapshot.status === 'DELETING')
      ) {
        return {
          kind: 'failed',
          fault: {
            message:
              snapshot?.status === 'FAILED'
                ? `The snapshot of the source failed, so the replica cannot be built: ${snapshot.faultMessage ?? 'no reason was given'}`
                : 'The snapshot of the source is gone: the replica cannot be built.',
          },
        };
      }
      if (row.taskStatus !== 'BUILDING')
        return { kind: 'stopped', reason: `the instance is ${row.taskStatus}` };
      if (row.serviceStatus === 'RUNNING') return { kind: 'running' };
      if (row.serviceStatus === 'FAILED') {
        return {
          kind: 'failed',
          fault: row.faultMessage
            ? { message: row.faultMessage, details: row.faultDetails ?? undefined }
            : null,
        };
      }
      return undefined;
    },
    {
      timeoutMs: seconds * 1000,
      fallbackMs: ctx.settings.tuning.waitFallbackMs,
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) {
    throw new OperationFailure(
      `The database server did not start within ${formatSeconds(seconds)} s.`,
    );
  }
  return result.value;
}

/** The guest reports FAILED and sends its fault as two messages: give the fault a moment to land. */
async function waitForFault(ctx: OperationContext, instanceId: string): Promise<Fault | null> {
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    () => ctx.prisma.instance.findUnique({ where: { id: instanceId }, select: statusSelect }),
    (row) =>
      row?.faultMessage
        ? { message: row.faultMessage, details: row.faultDetails ?? undefined }
        : undefined,
    {
      timeoutMs: ctx.settings.tuning.faultGraceMs,
      fallbackMs: ctx.settings.tuning.waitFallbackMs,
      signal: ctx.signal,
    },
  );
  return result.isTimedOut ? null : result.value;
}

function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

async function recordFailure(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
  fault: Fault,
): Promise<void> {
  await recordInstanceFault(ctx, instanceId, fault, {
    what: 'instance build',
    fromTask: 'BUILDING',
    toTask: 'BUILDING_ERROR',
  });
  await discardFailedRestore(ctx, instanceId);
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: { replicaOfId: true, restoredFromBackupId: true },
  });
  if (row?.replicaOfId && row.restoredFromBackupId)
    await releaseReplicaSnapshot(ctx, row.restoredFromBackupId);
}

/**
 * A restore that failed leaves no half-made instance: its server (guest, database server,
 * files, volume) and its guest queue go, its address is given back; the row stays in
 * ERROR with the fault, for the tenant to read and then delete.
 */
async function discardFailedRestore(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
): Promise<void> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: {
      restoredFromBackupId: true,
      taskStatus: true,
      computeServerId: true,
      projectId: true,
    },
  });
  if (!row?.restoredFromBackupId || row.taskStatus !== 'BUILDING_ERROR') return;
  const serverIds = new Set<string>();
  if (row.computeServerId) serverIds.add(row.computeServerId);
  for (const server of await ctx.provider.listServers()) {
    if (server.instanceId === instanceId) serverIds.add(server.serverId);
  }
  for (const serverId of serverIds) await ctx.provider.deleteServer(serverId);
  const guestQueue = new Queue(guestQueueName(instanceId), { connection: ctx.redis });
  try {
    await guestQueue.obliterate({ force: true });
  } finally {
    await guestQueue.close();
  }
  await ctx.prisma.instance.updateMany({
    where: { id: instanceId, taskStatus: 'BUILDING_ERROR' },
    data: { computeServerId: null, host: null, port: null, guestSecretEnc: null },
  });
  ctx.logger.warn(
    { backupId: row.restoredFromBackupId },
    'restore failed: its server and files were removed',
  );
  await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
}

export const createInstanceOperation: Operation<InstanceCreateJob> = { run, recordFailure };
