import {
  CofferError,
  deriveDisplayStatus,
  isServing,
  taskmanagerCalls,
  type CallFailure,
  type TaskmanagerCallName,
  type TaskmanagerCallResult,
  type TaskmanagerCallValue,
} from '@coffer/contracts';
import { jobPayloadKey, openSecret, SealError } from '@coffer/contracts/crypto';
import { GuestClient, GuestRpcError, GuestTimeoutError } from '@coffer/guest-client';
import { type Job } from 'bullmq';
import { type z } from 'zod';

import { AbortedError, raceAbort } from '../events';
import { openGuestSecret } from '../guest-secret';
import { logHandlers } from './log-calls';
import { type OperationContext } from './operation';

/**
 * Calls (the contracts' `taskmanagerCalls`): databases, users, access and root. Each performs
 * one guest call for a caller who waits for the answer (the web app never talks to a guest
 * itself). The job completes with `{ ok: true, value }` or `{ ok: false, failure }`, whose
 * message is written for the tenant; it never carries a password. Passwords arrive sealed
 * with the job-payload key and leave sealed with the guest's key. Only an ACTIVE instance is
 * asked, and a guest that does not answer in time is UNAVAILABLE.
 */

export type CallContext = Omit<OperationContext, 'signal'>;

/** A call refused for a reason the caller reads: the job completes with its JSON form (runCall). */
export function refuse(code: CallFailure['code'], message: string, field?: string): never {
  throw new CofferError(code, message, { field });
}

const guestSelect = {
  projectId: true,
  replicaOfId: true,
  taskStatus: true,
  serviceStatus: true,
  lastHeartbeatAt: true,
  guestSecretEnc: true,
  deletedAt: true,
} as const;

/**
 * Runs `ask` against the instance's guest, once the instance is ACTIVE; guest failures become
 * call failures. A change (`isChange`) is refused on a replica: it is read-only, and what it
 * holds comes from its source (a change made on it would diverge from the source).
 */
export async function withGuest<T>(
  ctx: CallContext,
  instanceId: string,
  ask: (guest: GuestClient, timeoutMs: number, row: { projectId: string }) => Promise<T>,
  { isChange = true }: { isChange?: boolean } = {},
): Promise<T> {
  const row = await ctx.prisma.instance.findUnique({
    where: { id: instanceId },
    select: guestSelect,
  });
  if (!row || row.deletedAt) refuse('NOT_FOUND', 'Instance not found');
  const status = deriveDisplayStatus({
    taskStatus: row.taskStatus,
    serviceStatus: row.serviceStatus,
    lastHeartbeatAt: row.lastHeartbeatAt,
    now: new Date(),
    heartbeatExpirySeconds: ctx.settings.heartbeatExpirySeconds,
  });
  if (!isServing(status) || !row.guestSecretEnc) {
    refuse(
      'CONFLICT',
      `The instance is ${status}: its databases, users and root can be managed while it is ACTIVE.`,
    );
  }
  if (isChange && row.replicaOfId) {
    refuse(
      'CONFLICT',
      'The instance is a read-only replica: change its databases, users and root on its source, and the changes replicate to it.',
    );
  }
  let guestSecret: string;
  try {
    guestSecret = openGuestSecret(ctx.settings.masterKey, instanceId, row.guestSecretEnc);
  } catch (error) {
    if (error instanceof SealError) {
      refuse(
        'INTERNAL',
        "The instance's guest secret cannot be opened with this control plane's master key.",
      );
    }
    throw error;
  }
  const timeoutMs = ctx.settings.tuning.guestCallTimeoutMs;
  const guest = new GuestClient({ connection: ctx.redis, instanceId, guestSecret });
  try {
    return await ask(guest, timeoutMs, row);
  } catch (error) {
    if (error instanceof GuestRpcError) {
      if (error.failure) refuse(error.failure.code, error.failure.message, error.failure.field);
      refuse('UNAVAILABLE', error.guestMessage);
    }
    if (error instanceof GuestTimeoutError) {
      refuse(
        'UNAVAILABLE',
        `The instance's guest did not answer within ${Math.round(timeoutMs / 1000)} s${
          error.jobState === 'running' ? ' (it may still finish the change)' : ''
        }; try again in a moment.`,
      );
    }
    throw error;
  } finally {
    await guest.close();
  }
}

/** A password the web app sealed with the job-payload key (associated data `user:<name>`). */
function openPassword(ctx: CallContext, sealed: string, userName: string, field: string): string {
  try {
    return openSecret(jobPayloadKey(ctx.settings.masterKey), sealed, `user:${userName}`);
  } catch (error) {
    if (error instanceof SealError) {
      refuse(
        'BAD_REQUEST',
        `The password of ${userName} could not be read by the control plane; send it again.`,
        field,
      );
    }
    throw error;
  }
}

export type Payload<N extends TaskmanagerCallName> = z.infer<
  (typeof taskmanagerCalls)[N]['schema']
>;
type Handlers = {
  [N in TaskmanagerCallName]: (
    ctx: CallContext,
    payload: Payload<N>,
  ) => Promise<TaskmanagerCallValue<N>>;
};

const handlers: Handlers = {
  'database.list': (ctx, { instanceId }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('list_databases', {}, { timeoutMs }),
      { isChange: false },
    ),
  'database.create': (ctx, { instanceId, database }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('create_database', database, { timeoutMs }),
    ),
  'database.delete': (ctx, { instanceId, name }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('delete_database', { name }, { timeoutMs }),
    ),
  'user.list': (ctx, { instanceId }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) => guest.call('list_users', {}, { timeoutMs }), {
      isChange: false,
    }),
  'user.create': (ctx, { instanceId, user }) => {
    const password = openPassword(ctx, user.password, user.name, 'password');
    return withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call(
        'create_user',
        { ...user, password: guest.sealUserPassword(user.name, password) },
        { timeoutMs },
      ),
    );
  },
  'user.update': (ctx, { instanceId, name, host, newHost, newPassword }) => {
    const password =
      newPassword === undefined ? undefined : openPassword(ctx, newPassword, name, 'newPassword');
    return withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call(
        'update_user',
        {
          name,
          host,
          ...(newHost !== undefined ? { newHost } : {}),
          ...(password !== undefined
            ? { newPassword: guest.sealUserPassword(name, password) }
            : {}),
        },
        { timeoutMs },
      ),
    );
  },
  'user.delete': (ctx, { instanceId, name, host }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('delete_user', { name, host }, { timeoutMs }),
    ),
  'access.list': (ctx, { instanceId, name, host }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('list_access', { name, host }, { timeoutMs }),
      { isChange: false },
    ),
  'access.grant': (ctx, { instanceId, name, host, databases }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('grant_access', { name, host, databases }, { timeoutMs }),
    ),
  'access.revoke': (ctx, { instanceId, name, host, database }) =>
    withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('revoke_access', { name, host, database }, { timeoutMs }),
    ),
  'root.enable': async (ctx, { instanceId, password: sealed }) => {
    const password = openPassword(ctx, sealed, 'root', 'password');
    await withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call(
        'enable_root',
        { password: guest.sealUserPassword('root', password) },
        { timeoutMs },
      ),
    );
    // Trove's root history: rootEnabledAt stays after a disable, so "root was ever enabled" is kept.
    await recordRoot(ctx, instanceId, { isRootEnabled: true, rootEnabledAt: new Date() });
    return {};
  },
  'configuration.effective': (ctx, { instanceId }) =>
    withGuest(
      ctx,
      instanceId,
      (guest, timeoutMs) => guest.call('get_configuration', {}, { timeoutMs }),
      { isChange: false },
    ),
  ...logHandlers,
  'root.disable': async (ctx, { instanceId }) => {
    await withGuest(ctx, instanceId, (guest, timeoutMs) =>
      guest.call('disable_root', {}, { timeoutMs }),
    );
    await recordRoot(ctx, instanceId, { isRootEnabled: false });
    return {};
  },
};

async function recordRoot(
  ctx: CallContext,
  instanceId: string,
  data: { isRootEnabled: boolean; rootEnabledAt?: Date },
): Promise<void> {
  const rows = await ctx.prisma.instance.updateManyAndReturn({
    where: { id: instanceId, deletedAt: null },
    data,
    select: { projectId: true },
  });
  const [row] = rows;
  if (row)
    await ctx.publisher.publish({ type: 'instance.changed', projectId: row.projectId, instanceId });
}

/**
 * Runs one call job. Expected failures (a refusal, an instance that is not ACTIVE, a guest
 * that does not answer) complete the job with `ok: false`; an unexpected error does too,
 * with a generic message, and is logged here. The job itself only fails when the worker dies.
 */
export async function runCall(
  ctx: CallContext,
  job: Job,
  name: TaskmanagerCallName,
): Promise<TaskmanagerCallResult<TaskmanagerCallName>> {
  const { logger } = ctx;
  const startedAt = Date.now();
  const payload = taskmanagerCalls[name].schema.safeParse(job.data);
  if (!payload.success) {
    logger.error(
      { issues: payload.error.issues.map((issue) => issue.path.join('.')) },
      'invalid call payload',
    );
    return {
      ok: false,
      failure: {
        code: 'BAD_REQUEST',
        message: 'The request could not be read by the control plane.',
      },
    };
  }
  const handler = handlers[name] as (
    ctx: CallContext,
    payload: unknown,
  ) => Promise<TaskmanagerCallValue<TaskmanagerCallName>>;
  try {
    const timeoutMs = taskmanagerCalls[name].timeoutMs;
    const value = await raceAbort(handler(ctx, payload.data), AbortSignal.timeout(timeoutMs));
    logger.info({ ms: Date.now() - startedAt }, 'call finished');
    return { ok: true, value };
  } catch (error) {
    if (error instanceof AbortedError) {
      logger.warn({ ms: Date.now() - startedAt }, 'call timed out');
      return {
        ok: false,
        failure: {
          code: 'UNAVAILABLE',
          message: 'The request took too long; try again in a moment.',
        },
      };
    }
    if (error instanceof CofferError) {
      const failure = error.toJSON();
      logger.info(
        { ms: Date.now() - startedAt, code: failure.code, reason: failure.message },
        'call refused',
      );
      return { ok: false, failure };
    }
    logger.error({ err: error, ms: Date.now() - startedAt }, 'call failed');
    return {
      ok: false,
      failure: {
        code: 'INTERNAL',
        message: 'Coffer could not complete the request because of an error in the control plane.',
      },
    };
  }
}
