import { isHeartbeatFresh, type InstanceRestartJob } from '@coffer/contracts';
import { clearedFault } from '@coffer/db/domain/faults';
import { GuestClient, GuestRpcError, GuestTimeoutError } from '@coffer/guest-client';

import { REBASED_GUEST_ORDER } from '../conductor/apply-message';
import { raceAbort, throwIfAborted, waitForInstance } from '../events';
import { openGuestSecret } from '../guest-secret';
import { guestInstanceSelect, type GuestInstanceRow } from './guest-instance';
import {
  OperationFailure,
  skipped,
  type Operation,
  type OperationContext,
  recordInstanceFault,
} from './operation';

/**
 * `instance.restart` (Trove's restart): re-base the order in which the conductor takes the
 * guest's messages, ask the guest to restart its database server, then wait for a RUNNING
 * heartbeat applied after the restart. A guest that does not answer (dead, or
 * hung) gets its server rebooted: the provider restarts the guest, which brings its database
 * server back. Success or failure, the task ends NONE; a failure leaves a fault.
 */

async function loadRow(
  ctx: OperationContext,
  instanceId: string,
): Promise<GuestInstanceRow | null> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: guestInstanceSelect,
  });
  return row && !row.deletedAt ? row : null;
}

type Comeback = { kind: 'running' } | { kind: 'stopped'; reason: string } | { kind: 'timeout' };

/** A RUNNING heartbeat applied by the conductor after `since` (the control plane's clock). */
async function waitForComeback(
  ctx: OperationContext,
  instanceId: string,
  since: number,
): Promise<Comeback> {
  const result = await waitForInstance(
    ctx.feed,
    instanceId,
    () => loadRow(ctx, instanceId),
    (row): Comeback | undefined => {
      if (!row) return { kind: 'stopped', reason: 'the instance no longer exists' };
      if (row.taskStatus !== 'REBOOTING')
        return { kind: 'stopped', reason: `the instance is ${row.taskStatus}` };
      if (
        row.serviceStatus === 'RUNNING' &&
        row.lastHeartbeatAt &&
        row.lastHeartbeatAt.getTime() > since
      )
        return { kind: 'running' };
      return undefined;
    },
    {
      timeoutMs: ctx.settings.tuning.restartHeartbeatTimeoutMs,
      fallbackMs: ctx.settings.tuning.waitFallbackMs,
      signal: ctx.signal,
    },
  );
  return result.isTimedOut ? { kind: 'timeout' } : result.value;
}

async function rebootServer(ctx: OperationContext, row: GuestInstanceRow): Promise<number> {
  if (!row.computeServerId) throw new OperationFailure('The instance has no server to restart.');
  ctx.logger.warn('the guest does not answer: rebooting its server');
  await ctx.provider.rebootServer(row.computeServerId);
  return Date.now();
}

const run: Operation<InstanceRestartJob>['run'] = async (ctx, payload) => {
  const { instanceId } = payload;
  const row = await loadRow(ctx, instanceId);
  if (!row) return skipped('the instance no longer exists');
  if (row.taskStatus !== 'REBOOTING') return skipped(`the instance is ${row.taskStatus}`);
  if (!row.guestSecretEnc || !row.computeServerId)
    throw new OperationFailure('The instance cannot be restarted: it was never built.');
  const guestSecret = openGuestSecret(ctx.settings.masterKey, instanceId, row.guestSecretEnc);

  // Whatever the guest said before (a forged message with a huge seq, a lost boot counter), its
  // next message is taken: a restart always brings the truth back.
  await ctx.prisma.instance.updateMany({
    where: { id: instanceId, taskStatus: 'REBOOTING' },
    data: REBASED_GUEST_ORDER,
  });

  const server = await ctx.provider.getServer(row.computeServerId);
  const isGuestAnswering =
    server?.status === 'ACTIVE' &&
    isHeartbeatFresh(row.lastHeartbeatAt, new Date(), ctx.settings.heartbeatExpirySeconds);

  let since: number;
  let hasRebooted = false;
  if (isGuestAnswering) {
    const client = new GuestClient({ connection: ctx.redis, instanceId, guestSecret });
    try {
      // On shutdown the job goes back to waiting at once; the next worker asks again (a second restart is harmless).
      await raceAbort(
        client.call('restart', {}, { timeoutMs: ctx.settings.tuning.restartCallTimeoutMs }),
        ctx.signal,
      );
      since = Date.now();
    } catch (error) {
      if (error instanceof GuestRpcError) {
        throw new OperationFailure(
          `The database server could not be restarted: ${error.guestMessage}`,
          undefined,
          { cause: error },
        );
      }
      if (!(error instanceof GuestTimeoutError)) throw error;
      since = await rebootServer(ctx, row);
      hasRebooted = true;
    } finally {
      await client.close();
    }
  } else {
    since = await rebootServer(ctx, row);
    hasRebooted = true;
  }

  throwIfAborted(ctx.signal);
  let comeback = await waitForComeback(ctx, instanceId, since);
  if (comeback.kind === 'timeout' && !hasRebooted) {
    since = await rebootServer(ctx, row);
    comeback = await waitForComeback(ctx, instanceId, since);
  }
  if (comeback.kind === 'stopped') return skipped(comeback.reason);
  if (comeback.kind === 'timeout') {
    const seconds = Math.round(ctx.settings.tuning.restartHeartbeatTimeoutMs / 1000);
    throw new OperationFailure(
      `The database server did not come back within ${seconds} s of the restart.`,
    );
  }

  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: { id: instanceId, taskStatus: 'REBOOTING' },
    data: { taskStatus: 'NONE', ...clearedFault() },
    select: { projectId: true },
  });
  if (rows.length === 0) return skipped('the instance stopped rebooting meanwhile');
  await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
  ctx.logger.info({ hasRebooted }, 'instance restarted');
  return { outcome: 'done' };
};

const recordFailure: Operation<InstanceRestartJob>['recordFailure'] = (ctx, instanceId, fault) => {
  return recordInstanceFault(ctx, instanceId, fault, {
    what: 'instance restart',
    fromTask: 'REBOOTING',
    toTask: 'NONE',
  });
};

export const restartInstanceOperation: Operation<InstanceRestartJob> = { run, recordFailure };
