import { isComputeError, type VolumeGrowth } from '@coffer/compute';
import {
  resizeStateSchema,
  type InstanceResizeJob,
  type ResizeFlavor,
  type ResizeState,
} from '@coffer/contracts';
import { Prisma } from '@coffer/db';
import { clearedFault, faultFields } from '@coffer/db/domain/faults';
import { GuestClient, GuestRpcError, GuestTimeoutError } from '@coffer/guest-client';

import { AbortedError, raceAbort, throwIfAborted, waitForInstance } from '../events';
import { openGuestSecret } from '../guest-secret';
import {
  OperationFailure,
  skipped,
  type Fault,
  type Operation,
  type OperationContext,
  type OperationResult,
} from './operation';

/**
 * `instance.resize` (Trove's resize_flavor and resize_volume). The web app wrote the row
 * RESIZING with `resizeState` (from, to); this job drives it there:
 *
 * - flavor: the compute provider's limits and the guest's config (`apply_flavor`: buffer pool
 *   and connection limits, a restart), in the order that never leaves the server sized beyond
 *   its limits (growing: limits first; shrinking: config first); then the row takes the new
 *   flavor, RUNNING. `apply_flavor` answers once the restarted server answers with the new
 *   config: growing, that answer is the proof that it runs inside the new limits (they were set
 *   before); shrinking, the limits come after, and a provider may restart the server to set
 *   them, so the guest is asked again (`get_status`), and only a server that is not running yet
 *   is waited for (a RUNNING heartbeat after the limits). Any failure rolls both back to the
 *   old flavor (the guest itself restores its old config when the server does not start with
 *   the new one) and ends with a fault naming the reason.
 * - volume: the provider grows the volume (online; or offline while the guest has stopped its
 *   database server: `stop_db`, the growth, `restart`), the guest says what its filesystem
 *   holds now, and the row records it, RUNNING again once the restarted server answered. A
 *   failure keeps the size the provider reports (a volume never shrinks) and ends with a fault.
 *
 * `direction: 'rollback'` (the watchdog, for a flavor resize whose job died) drives the
 * instance back to `from` instead, and ends with a fault saying the resize was interrupted.
 * The row's task is RESIZING throughout; it ends NONE, with `resizeState` null.
 */

const resizeSelect = {
  id: true,
  projectId: true,
  taskStatus: true,
  resizeState: true,
  computeServerId: true,
  guestSecretEnc: true,
  deletedAt: true,
} as const satisfies Prisma.InstanceSelect;

type ResizeRow = Prisma.InstanceGetPayload<{ select: typeof resizeSelect }>;
type FlavorResize = Extract<ResizeState, { kind: 'flavor' }>;
type VolumeResize = Extract<ResizeState, { kind: 'volume' }>;

async function loadRow(ctx: OperationContext, instanceId: string): Promise<ResizeRow | null> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: resizeSelect,
  });
  return row && !row.deletedAt ? row : null;
}

function describe(error: unknown): string {
  if (error instanceof OperationFailure) return error.fault.message;
  if (error instanceof GuestRpcError) return error.guestMessage;
  return error instanceof Error ? error.message : String(error);
}

/** Stopped by shutdown or the attempt's timeout: the job goes back to waiting (or is retried) and resumes. */
function isShutdown(ctx: OperationContext, error: unknown): boolean {
  return error instanceof AbortedError || ctx.signal.aborted;
}

/** The guest's client for this instance (closed by the caller). */
function guestOf(ctx: OperationContext, row: ResizeRow): GuestClient {
  const guestSecret = openGuestSecret(ctx.settings.masterKey, row.id, row.guestSecretEnc!);
  return new GuestClient({ connection: ctx.redis, instanceId: row.id, guestSecret });
}

/** A RUNNING heartbeat applied after `since` while the instance is still RESIZING. */
async function waitForRunning(ctx: OperationContext, instanceId: string, since: number) {
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    () =>
      ctx.prisma.instance.findUnique({
        where: { id: instanceId },
        select: { taskStatus: true, serviceStatus: true, lastHeartbeatAt: true, deletedAt: true },
      }),
    (row): 'running' | 'stopped' | undefined => {
      if (!row || row.deletedAt || row.taskStatus !== 'RESIZING') return 'stopped';
      if (row.serviceStatus === 'RUNNING' && (row.lastHeartbeatAt?.getTime() ?? 0) > since)
        return 'running';
      return undefined;
    },
    {
      timeoutMs: ctx.settings.tuning.restartHeartbeatTimeoutMs,
      fallbackMs: ctx.settings.tuning.waitFallbackMs,
      signal: ctx.signal,
    },
  );
  if (result.isTimedOut) {
    const seconds = Math.round(ctx.settings.tuning.restartHeartbeatTimeoutMs / 1000);
    throw new OperationFailure(`The database server did not report running within ${seconds} s.`);
  }
  return result.value;
}

function guestCallTimeoutMs(ctx: OperationContext): number {
  return Math.max(60_000, 2 * ctx.settings.tuning.restartCallTimeoutMs);
}

/**
 * Where a step left the server: `confirmed` running (the guest has just said so, after
 * everything that could restart it: the row may take RUNNING without waiting for a heartbeat),
 * `running` (a heartbeat said so, or nothing was restarted), or `stopped` resizing meanwhile.
 */
type ServerOutcome = 'confirmed' | 'running' | 'stopped';

/** After a provider step that may have restarted the server: the guest's word that it runs, else a RUNNING heartbeat after `since`. */
async function confirmRunning(
  ctx: OperationContext,
  client: GuestClient,
  instanceId: string,
  since: number,
): Promise<ServerOutcome> {
  const status = await raceAbort(
    client.call('get_status', {}, { timeoutMs: ctx.settings.tuning.guestCallTimeoutMs }),
    ctx.signal,
  ).catch((error: unknown) => {
    // A guest still starting again answers later: its heartbeat will say.
    if (error instanceof GuestTimeoutError) return null;
    throw error;
  });
  if (status?.serviceStatus === 'RUNNING') return 'confirmed';
  return waitForRunning(ctx, instanceId, since);
}

/** Limits and config at `flavor`, in the safe order; then the server running with both. */
async function applyFlavor(
  ctx: OperationContext,
  row: ResizeRow,
  current: ResizeFlavor,
  flavor: ResizeFlavor,
): Promise<ServerOutcome> {
  const serverId = row.computeServerId!;
  const limits = { vcpus: flavor.vcpus, ramMb: flavor.ramMb };
  const isGrowing = flavor.ramMb >= current.ramMb;
  const client = guestOf(ctx, row);
  try {
    // The guest call's connection opens while the provider works.
    if (isGrowing) {
      await raceAbort(
        Promise.all([ctx.provider.resizeServer(serverId, limits), client.ready()]),
        ctx.signal,
      );
    }
    throwIfAborted(ctx.signal);
    const applied = await raceAbort(
      client.call(
        'apply_flavor',
        { memoryMb: flavor.ramMb, vcpus: flavor.vcpus },
        { timeoutMs: guestCallTimeoutMs(ctx) },
      ),
      ctx.signal,
    );
    ctx.logger.info({ flavor: flavor.name, ...applied }, 'resize: the guest applied the flavor');
    // Growing: the server answered after its restart, inside limits set before it.
    if (isGrowing) return applied.restarted ? 'confirmed' : 'running';
    // Shrinking: the server answered after its restart with the smaller settings; the lower
    // limits are set only now (before, the old server's memory could exceed them). Set in
    // place, the guest's word stands; a provider that restarted the server for them (its use
    // did not fit under them, or Nova's resize) is asked again.
    const how = await raceAbort(ctx.provider.resizeServer(serverId, limits), ctx.signal);
    if (how === 'restarted') return await confirmRunning(ctx, client, row.id, Date.now());
    return applied.restarted ? 'confirmed' : 'running';
  } finally {
    await client.close();
  }
}

/** What the row takes when the server's state is `outcome`: RUNNING when the guest has just confirmed it (its next heartbeat says it again). */
function serviceStatusOf(outcome: ServerOutcome): { serviceStatus?: 'RUNNING' } {
  return outcome === 'confirmed' ? { serviceStatus: 'RUNNING' } : {};
}

async function endResize(
  ctx: OperationContext,
  row: ResizeRow,
  data: Prisma.InstanceUpdateManyMutationInput & { flavorId?: string },
): Promise<boolean> {
  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: { id: row.id, taskStatus: 'RESIZING', deletedAt: null },
    data: { taskStatus: 'NONE', resizeState: Prisma.DbNull, ...data },
    select: { id: true },
  });
  if (rows.length === 0) return false;
  await ctx.publisher.publish({
    type: 'instance.changed',
    projectId: row.projectId,
    instanceId: row.id,
  });
  return true;
}

async function resizeFlavor(
  ctx: OperationContext,
  row: ResizeRow,
  state: FlavorResize,
  direction: InstanceResizeJob['direction'],
): Promise<OperationResult> {
  const { from, to } = state;
  if (direction === 'rollback') {
    let outcome: ServerOutcome;
    try {
      outcome = await applyFlavor(ctx, row, to, from);
    } catch (error) {
      if (isShutdown(ctx, error)) throw error;
      throw new OperationFailure(
        `The resize to ${to.name} was interrupted and could not be rolled back to ${from.name}: ${describe(error)}`,
      );
    }
    const message = `The resize to ${to.name} was interrupted; the instance runs with ${from.name} again.`;
    await endResize(ctx, row, {
      ...serviceStatusOf(outcome),
      ...faultFields({ message }),
    });
    return { outcome: 'failed', fault: { message } };
  }

  let outcome: ServerOutcome;
  try {
    outcome = await applyFlavor(ctx, row, from, to);
    if (outcome === 'stopped') return skipped('the instance stopped resizing meanwhile');
  } catch (error) {
    if (isShutdown(ctx, error)) throw error;
    const reason = describe(error);
    ctx.logger.warn({ reason }, 'resize: the flavor could not be applied: rolling back');
    let rollback = `The instance runs with ${from.name} again.`;
    try {
      if ((await applyFlavor(ctx, row, to, from)) === 'stopped')
        return skipped('the instance stopped resizing meanwhile');
    } catch (again) {
      if (isShutdown(ctx, again)) throw again;
      rollback = `Rolling back to ${from.name} failed too: ${describe(again)}`;
    }
    throw new OperationFailure(`The resize to ${to.name} failed: ${reason} ${rollback}`);
  }
  if (
    !(await endResize(ctx, row, {
      flavorId: to.flavorId,
      ...serviceStatusOf(outcome),
      ...clearedFault(),
    }))
  )
    return skipped('the instance stopped resizing meanwhile');
  ctx.logger.info({ from: from.name, to: to.name }, 'instance resized (flavor)');
  return { outcome: 'done' };
}

async function resizeVolume(
  ctx: OperationContext,
  row: ResizeRow,
  state: VolumeResize,
): Promise<OperationResult> {
  const serverId = row.computeServerId!;
  const client = guestOf(ctx, row);
  const timeoutMs = ctx.settings.tuning.restartCallTimeoutMs;
  try {
    const since = Date.now();
    let growth: VolumeGrowth;
    try {
      growth = await raceAbort(
        ctx.provider.extendVolume(serverId, state.toGb, {
          // Offline growth stops the database server only (Trove's stop_db … restart), not its
          // guest; the server is started again whether the growth worked or not.
          whileOffline: async (work) => {
            await client.call('stop_db', {}, { timeoutMs });
            let failure: unknown = null;
            try {
              await work();
            } catch (error) {
              failure = error;
            }
            try {
              await client.call('restart', {}, { timeoutMs });
            } catch (error) {
              throw failure ?? error;
            }
            if (failure) throw failure;
          },
        }),
        ctx.signal,
      );
    } catch (error) {
      if (isShutdown(ctx, error)) throw error;
      // A volume never shrinks: the row keeps what the provider has now.
      const server = await ctx.provider.getServer(serverId).catch(() => null);
      const sizeGb = Math.max(state.fromGb, Math.min(state.toGb, server?.volumeGb ?? state.fromGb));
      const reason = isComputeError(error, 'INVALID') ? error.message : describe(error);
      const message = `The volume could not be grown to ${state.toGb} GB: ${reason}. It is ${sizeGb} GB.`;
      await endResize(ctx, row, {
        volumeSizeGb: sizeGb,
        ...faultFields({ message }),
      });
      ctx.logger.warn({ reason }, 'resize: the volume could not be grown');
      return { outcome: 'failed', fault: { message } };
    }
    // Offline, the guest's restart answered once the server did; a provider that restarted the
    // whole server is waited for; online, nothing stopped.
    let outcome: ServerOutcome = growth === 'offline' ? 'confirmed' : 'running';
    if (growth === 'restarted') outcome = await waitForRunning(ctx, row.id, since);
    if (outcome === 'stopped') return skipped('the instance stopped resizing meanwhile');
    // What the guest's filesystem says now (best effort: the heartbeat says it again).
    let usage: { usedBytes: number; totalBytes: number } | null = null;
    try {
      usage = await raceAbort(client.call('volume_usage', {}, { timeoutMs }), ctx.signal);
    } catch (error) {
      if (isShutdown(ctx, error)) throw error;
      ctx.logger.warn({ err: error }, 'resize: the guest did not say its volume usage');
    }
    const done = await endResize(ctx, row, {
      volumeSizeGb: state.toGb,
      ...(usage
        ? { volumeUsedBytes: BigInt(usage.usedBytes), volumeTotalBytes: BigInt(usage.totalBytes) }
        : {}),
      ...serviceStatusOf(outcome),
      ...clearedFault(),
    });
    if (!done) return skipped('the instance stopped resizing meanwhile');
    ctx.logger.info(
      { fromGb: state.fromGb, toGb: state.toGb, growth, usage },
      'instance resized (volume)',
    );
    return { outcome: 'done' };
  } finally {
    await client.close();
  }
}

async function run(ctx: OperationContext, payload: InstanceResizeJob): Promise<OperationResult> {
  const row = await loadRow(ctx, payload.instanceId);
  if (!row) return skipped('the instance no longer exists');
  if (row.taskStatus !== 'RESIZING') return skipped(`the instance is ${row.taskStatus}`);
  const state = resizeStateSchema.safeParse(row.resizeState);
  if (!state.success) throw new OperationFailure('The resize under way could not be read.');
  if (!row.computeServerId || !row.guestSecretEnc)
    throw new OperationFailure('The instance cannot be resized: it was never built.');
  return state.data.kind === 'flavor'
    ? resizeFlavor(ctx, row, state.data, payload.direction)
    : resizeVolume(ctx, row, state.data);
}

/** Ends the resize with the fault: the task NONE, nothing under way; a volume keeps its old size in the row. */
async function recordFailure(
  ctx: Omit<OperationContext, 'signal'>,
  instanceId: string,
  fault: Fault,
): Promise<void> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: { resizeState: true },
  });
  const state = resizeStateSchema.safeParse(row?.resizeState);
  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: { id: instanceId, taskStatus: 'RESIZING', deletedAt: null },
    data: {
      taskStatus: 'NONE',
      resizeState: Prisma.DbNull,
      ...(state.success && state.data.kind === 'volume' ? { volumeSizeGb: state.data.fromGb } : {}),
      ...faultFields(fault),
    },
    select: { projectId: true },
  });
  const [updated] = rows;
  if (!updated) return;
  ctx.logger.warn({ fault: fault.message }, 'instance resize failed');
  await ctx.publisher.publish({
    type: 'instance.changed',
    projectId: updated.projectId,
    instanceId,
  });
}

export const resizeInstanceOperation: Operation<InstanceResizeJob> = { run, recordFailure };
