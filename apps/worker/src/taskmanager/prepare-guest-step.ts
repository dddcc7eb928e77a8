import { type GuestUserSpec, type InstanceCreateJob } from '@coffer/contracts';
import { jobPayloadKey, openSecret, SealError } from '@coffer/contracts/crypto';
import { type Prisma } from '@coffer/db';
import { GuestClient } from '@coffer/guest-client';

import { restoreSpecFor } from '../backup/restore-spec';
import { waitForInstance } from '../events';
import { snapshotFailure } from '../replication/create-replica-steps';
import { withReplicaStream } from '../replication/direct-stream';
import { prepareOverridesFor } from './apply-configuration';
import { type CreateRow } from './create-instance-row';
import { OperationFailure, type Fault, type OperationContext } from './operation';

/**
 * The guest steps of `instance.create`: cast `prepare` once (a deterministic job id), then
 * wait, on change events, until the conductor has applied RUNNING, or FAILED, or time runs out.
 */

/** The guest's RPC job id for the first prepare of an instance. */
export function prepareJobId(instanceId: string): string {
  return `prepare-${instanceId}`;
}

const statusSelect = {
  taskStatus: true,
  serviceStatus: true,
  faultMessage: true,
  faultDetails: true,
  deletedAt: true,
} as const satisfies Prisma.InstanceSelect;

export type BuildOutcome =
  | { kind: 'running' }
  | { kind: 'failed'; fault: Fault | null }
  | { kind: 'stopped'; reason: string };

/**
 * Casts `prepare`: a retried create never prepares twice. A restore (or replica) says where
 * from; a replica may be given its source's direct stream (unless `isDirectAllowed` is false).
 * Says whether it was.
 */
export async function castPrepare(
  ctx: OperationContext,
  row: CreateRow,
  payload: InstanceCreateJob,
  guestSecret: string,
  { isDirectAllowed = true }: { isDirectAllowed?: boolean } = {},
): Promise<{ isDirect: boolean }> {
  // A configuration group (issue 15): its values are in the config from the first start.
  const configuration = await prepareOverridesFor(ctx, row.id);
  const client = new GuestClient({ connection: ctx.redis, instanceId: row.id, guestSecret });
  let isDirect = false;
  try {
    const restore = payload.restoreFromBackupId
      ? await restoreSpecFor(ctx.prisma, ctx.settings, client, row, payload.restoreFromBackupId, {
          isFollowing: row.replicaOfId !== null,
        })
      : null;
    const spec =
      restore && isDirectAllowed ? await withReplicaStream(ctx, client, row, restore) : restore;
    isDirect = spec?.direct !== undefined;
    await client.cast(
      'prepare',
      {
        memoryMb: row.flavor.ramMb,
        vcpus: row.flavor.vcpus,
        databases: payload.databases,
        users: sealUsersForGuest(ctx, client, payload.users),
        isReadOnly: row.replicaOfId !== null,
        ...(configuration ? { configOverrides: configuration.overrides } : {}),
        ...(spec ? { restore: spec } : {}),
      },
      { jobId: prepareJobId(row.id) },
    );
  } finally {
    await client.close();
  }
  if (configuration) {
    await ctx.prisma.instance.update({
      where: { id: row.id },
      data: { configurationApply: configuration.record },
    });
  }
  return { isDirect };
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

/**
 * RUNNING applied by the conductor, FAILED, the row gone or no longer BUILDING, or the
 * timeout. A replica restoring its source's snapshot as it is written also fails when the
 * snapshot fails (its guest, still waiting for chunks, goes with the failed build).
 */
export async function waitUntilBuilt(
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
      const failure = snapshotId ? snapshotFailure(snapshot ?? null) : null;
      if (failure) return { kind: 'failed', fault: { message: failure } };
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
export async function waitForFault(
  ctx: OperationContext,
  instanceId: string,
): Promise<Fault | null> {
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
