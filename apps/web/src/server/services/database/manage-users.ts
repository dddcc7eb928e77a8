import 'server-only';

import { AppError, type DatabaseUserInfo } from '@coffer/contracts';
import { jobPayloadKey, sealSecret } from '@coffer/contracts/crypto';
import type { z } from 'zod';

import { env } from '~/env';
import {
  type accountInputSchema,
  type createUserInputSchema,
  type grantAccessInputSchema,
  type revokeAccessInputSchema,
  type updateUserInputSchema,
} from '~/lib/database-schemas';
import { callTaskmanager } from '~/server/queue';
import { instanceDatastore } from '../instance/instance-datastore';
import { type InstanceView } from '../instance/instance-view';
import { requireActiveInstance, type DatabaseAdminContext } from './active-instance';

/**
 * The database users of an instance and their access (Trove's users API), through the
 * taskmanager. Passwords travel sealed with the job-payload key (associated data
 * `user:<name>`) and are never stored or logged; no answer carries one.
 */

type Account = z.output<typeof accountInputSchema>;

/** A host pattern outside the instance's allowed sources is refused (its datastore's rule). */
async function requireHostWithinAccess(
  ctx: DatabaseAdminContext,
  instance: InstanceView,
  host: string,
  field: string,
): Promise<void> {
  const datastore = await instanceDatastore(ctx.db, instance.id);
  const outside = datastore.userHostOutsideSources(host, {
    isPublic: instance.isPublic,
    cidrs: instance.allowedCidrs,
  });
  if (outside) {
    throw new AppError('BAD_REQUEST', outside, {
      details: { fieldErrors: { [field]: [outside] } },
    });
  }
}

function sealPassword(userName: string, password: string) {
  return sealSecret(jobPayloadKey(env.COFFER_MASTER_KEY), password, `user:${userName}`);
}

export async function listUsers(
  ctx: DatabaseAdminContext,
  instanceId: string,
): Promise<DatabaseUserInfo[]> {
  await requireActiveInstance(ctx, instanceId);
  const { users } = await callTaskmanager('user.list', instanceId, { instanceId });
  return users;
}

export async function createUser(
  ctx: DatabaseAdminContext,
  instanceId: string,
  input: z.output<typeof createUserInputSchema>,
): Promise<DatabaseUserInfo> {
  const instance = await requireActiveInstance(ctx, instanceId);
  await requireHostWithinAccess(ctx, instance, input.host, 'host');
  const { user } = await callTaskmanager('user.create', instanceId, {
    instanceId,
    user: {
      name: input.name,
      host: input.host,
      databases: input.databases,
      password: sealPassword(input.name, input.password),
    },
  });
  ctx.log.info({ instanceId, user: `${user.name}@${user.host}` }, 'database user created');
  return user;
}

export async function updateUser(
  ctx: DatabaseAdminContext,
  instanceId: string,
  input: z.output<typeof updateUserInputSchema>,
): Promise<DatabaseUserInfo> {
  const instance = await requireActiveInstance(ctx, instanceId);
  if (input.newHost !== undefined) {
    await requireHostWithinAccess(ctx, instance, input.newHost, 'newHost');
  }
  const { user } = await callTaskmanager('user.update', instanceId, {
    instanceId,
    name: input.name,
    host: input.host,
    ...(input.newHost !== undefined ? { newHost: input.newHost } : {}),
    ...(input.newPassword !== undefined
      ? { newPassword: sealPassword(input.name, input.newPassword) }
      : {}),
  });
  ctx.log.info(
    {
      instanceId,
      user: `${input.name}@${input.host}`,
      isHostChanged: input.newHost !== undefined,
      isPasswordChanged: input.newPassword !== undefined,
    },
    'database user changed',
  );
  return user;
}

export async function deleteUser(
  ctx: DatabaseAdminContext,
  instanceId: string,
  account: Account,
): Promise<void> {
  await requireActiveInstance(ctx, instanceId);
  await callTaskmanager('user.delete', instanceId, { instanceId, ...account });
  ctx.log.info({ instanceId, user: `${account.name}@${account.host}` }, 'database user deleted');
}

export async function listAccess(
  ctx: DatabaseAdminContext,
  instanceId: string,
  account: Account,
): Promise<string[]> {
  await requireActiveInstance(ctx, instanceId);
  const { databases } = await callTaskmanager('access.list', instanceId, {
    instanceId,
    ...account,
  });
  return databases;
}

export async function grantAccess(
  ctx: DatabaseAdminContext,
  instanceId: string,
  input: z.output<typeof grantAccessInputSchema>,
): Promise<string[]> {
  await requireActiveInstance(ctx, instanceId);
  const { databases } = await callTaskmanager('access.grant', instanceId, { instanceId, ...input });
  ctx.log.info(
    { instanceId, user: `${input.name}@${input.host}`, databases: input.databases },
    'access granted',
  );
  return databases;
}

export async function revokeAccess(
  ctx: DatabaseAdminContext,
  instanceId: string,
  input: z.output<typeof revokeAccessInputSchema>,
): Promise<string[]> {
  await requireActiveInstance(ctx, instanceId);
  const { databases } = await callTaskmanager('access.revoke', instanceId, {
    instanceId,
    ...input,
  });
  ctx.log.info(
    { instanceId, user: `${input.name}@${input.host}`, database: input.database },
    'access revoked',
  );
  return databases;
}
