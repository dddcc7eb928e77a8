import { isComputeError, type ServerInfo } from '@coffer/compute';
import { datastoreManagerSchema, guestQueueName } from '@coffer/contracts';
import { SealError } from '@coffer/contracts/crypto';
import { Prisma } from '@coffer/db';

import { guestConductorStream } from '../conductor/shards';
import { generateGuestSecret, openGuestSecret, sealGuestSecret } from '../guest-secret';
import { loadRow, StopCreate, type CreateRow } from './create-instance-row';
import { OperationFailure, type OperationContext } from './operation';

/**
 * The server steps of `instance.create`: the guest's secret, then the server, made by the
 * compute provider (which picks its port, if it needs one) and recorded on the row.
 */

/** The guest's secret, generated once and stored sealed; a concurrent run's secret wins. */
export async function ensureGuestSecret(ctx: OperationContext, row: CreateRow): Promise<string> {
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

/**
 * The server (idempotent per instance), then its id and address on the row. A port the row
 * already records is asked for again; when another server holds it, the provider picks one.
 * Stops quietly (and leaves no server) when the instance was deleted meanwhile.
 */
export async function createAndRecordServer(
  ctx: OperationContext,
  row: CreateRow,
  guestSecret: string,
): Promise<ServerInfo> {
  const server = await createServer(ctx, row, guestSecret);
  const record = () =>
    ctx.prisma.instance.updateMany({
      where: { id: row.id, taskStatus: 'BUILDING' },
      data: { computeServerId: server.serverId, host: server.host, port: server.port },
    });
  let count: number;
  try {
    ({ count } = await record());
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // The provider gave out an address that another row still records. The provider hands
    // each address to one server at a time, so that row's server is gone: it is being deleted,
    // or its files were lost (a wiped data dir, a host rebuilt). Its address is stale: forget
    // it, and record this server's.
    if ((await forgetStaleAddress(ctx, row.id, server)) === 0) {
      throw new Error(
        `another instance still records ${server.host}:${server.port}, the address the compute provider gave this one`,
        { cause: error },
      );
    }
    ({ count } = await record());
  }
  if (count === 0) {
    // Deleted (or its delete began) while the server was being made: make sure nothing is left.
    const after = await loadRow(ctx, row.id);
    if (!after) await ctx.provider.deleteServer(server.serverId);
    throw new StopCreate('the instance was deleted while its server was created');
  }
  if (
    row.computeServerId !== server.serverId ||
    row.host !== server.host ||
    row.port !== server.port
  ) {
    await ctx.publisher.publish({
      type: 'instance.changed',
      projectId: row.projectId,
      instanceId: row.id,
    });
  }
  ctx.logger.info(
    { serverId: server.serverId, host: server.host, port: server.port },
    'server ready; preparing the guest',
  );
  return server;
}

async function createServer(
  ctx: OperationContext,
  row: CreateRow,
  guestSecret: string,
): Promise<ServerInfo> {
  const known = datastoreManagerSchema.safeParse(row.datastoreVersion.datastore.manager);
  if (!known.success) {
    throw new OperationFailure(
      `The datastore manager "${row.datastoreVersion.datastore.manager}" is not supported by this Coffer.`,
    );
  }
  const manager = known.data;
  const redisUrl = guestRedisUrl(ctx, row.id);
  // The guest's own Redis user, before its server (and so its guest) starts.
  await ctx.guestAccess.ensureUser(row.id);
  let port = row.port ?? undefined;
  for (;;) {
    try {
      return await ctx.provider.createServer({
        instanceId: row.id,
        projectId: row.projectId,
        flavor: { vcpus: row.flavor.vcpus, ramMb: row.flavor.ramMb },
        volumeGb: row.volumeSizeGb,
        // Closed to all but these (and this machine) before the server listens.
        allowedSources: { isPublic: row.isPublic, cidrs: row.allowedCidrs },
        ...(port !== undefined ? { port } : {}),
        guestInfo: {
          instanceId: row.id,
          projectId: row.projectId,
          datastoreManager: manager,
          datastoreVersion: row.datastoreVersion.name,
        },
        agentConfig: {
          redisUrl,
          rpcQueue: guestQueueName(row.id),
          // Its shard of the conductor stream: one conductor process reads all it says.
          conductorStream: guestConductorStream(ctx.settings, row.id),
          guestSecret,
          heartbeatIntervalSeconds: ctx.settings.heartbeatIntervalSeconds,
          // A fresh server: the guest may install the datadir while it boots. (Not for a
          // volume that will be filled from a backup or a source.)
          ...(row.restoredFromBackupId
            ? {}
            : { preinstall: { memoryMb: row.flavor.ramMb, vcpus: row.flavor.vcpus } }),
        },
      });
    } catch (error) {
      if (isComputeError(error, 'PORT_TAKEN') && port !== undefined) {
        ctx.logger.warn({ port }, 'the port is claimed by another server: the provider picks one');
        port = undefined;
        continue;
      }
      // Asking again would get the same answer: the tenant reads why. (Anything else, QUOTA
      // included, is tried again: a port or a cloud's quota may be freed meanwhile.)
      if (isComputeError(error, 'INVALID')) {
        throw new OperationFailure(
          `The instance could not be built: the compute provider refused its server (${error.message}).`,
          undefined,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** The URL the guest is given: with its own Redis user when guests have them (guest-redis-access.ts). */
function guestRedisUrl(ctx: OperationContext, instanceId: string): string {
  if (!ctx.settings.guestRedisUrl)
    throw new OperationFailure(
      'The instance could not be built: the control plane has no Redis URL to give its guest.',
    );
  return ctx.guestAccess.urlFor(instanceId);
}

/**
 * Clears `server`'s address on the other rows that record it whose own server the provider no
 * longer has at that address; returns how many. A row whose server is really there keeps it.
 */
async function forgetStaleAddress(
  ctx: OperationContext,
  instanceId: string,
  server: ServerInfo,
): Promise<number> {
  const others = await ctx.prisma.instance.findMany({
    where: { host: server.host, port: server.port, id: { not: instanceId } },
    select: { id: true, computeServerId: true },
  });
  let forgotten = 0;
  for (const other of others) {
    const theirs = other.computeServerId
      ? await ctx.provider.getServer(other.computeServerId)
      : null;
    if (theirs && theirs.host === server.host && theirs.port === server.port) continue;
    const { count } = await ctx.prisma.instance.updateMany({
      where: { id: other.id, host: server.host, port: server.port },
      data: { host: null, port: null },
    });
    forgotten += count;
    ctx.logger.warn(
      { staleInstanceId: other.id, host: server.host, port: server.port },
      'another instance recorded this address but has no server there: its stale address is cleared',
    );
  }
  return forgotten;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
