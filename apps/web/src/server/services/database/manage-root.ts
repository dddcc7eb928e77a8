import 'server-only';

import { AppError } from '@coffer/contracts';
import { jobPayloadKey, sealSecret } from '@coffer/contracts/crypto';
import { z } from 'zod';

import { env } from '~/env';
import { generatePassword } from '~/lib/passwords';
import { callTaskmanager } from '~/server/queue';
import { requireActiveInstance, type DatabaseAdminContext } from './active-instance';

/**
 * Root on an instance (Trove's root API). Disabled until asked for: root is `root@localhost`
 * by unix_socket only. Enabling creates `root`@`%` with a strong password generated here,
 * sealed on its way to the guest, returned to the caller once and never stored or logged.
 * Like Trove's root history, "root was ever enabled" survives a disable: `rootEnabledAt` is
 * kept, only `isRootEnabled` goes back to false.
 */

export const ROOT_PASSWORD_LENGTH = 24;

export const rootStatusSchema = z.object({
  isEnabled: z.boolean(),
  isEverEnabled: z.boolean(),
  /** When root was last enabled (kept after a disable). */
  enabledAt: z.date().nullable(),
});
export type RootStatus = z.infer<typeof rootStatusSchema>;

export const enabledRootSchema = z.object({
  name: z.literal('root'),
  host: z.literal('%'),
  password: z.string(),
  status: rootStatusSchema,
});
export type EnabledRoot = z.infer<typeof enabledRootSchema>;

export async function getRootStatus(
  ctx: Pick<DatabaseAdminContext, 'db'>,
  instanceId: string,
): Promise<RootStatus> {
  const row = await ctx.db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: { isRootEnabled: true, rootEnabledAt: true },
  });
  if (!row) throw new AppError('NOT_FOUND', 'Instance not found');
  return {
    isEnabled: row.isRootEnabled,
    isEverEnabled: row.rootEnabledAt !== null,
    enabledAt: row.rootEnabledAt,
  };
}

export async function enableRoot(
  ctx: DatabaseAdminContext,
  instanceId: string,
): Promise<EnabledRoot> {
  await requireActiveInstance(ctx, instanceId);
  const password = generatePassword(ROOT_PASSWORD_LENGTH);
  await callTaskmanager('root.enable', instanceId, {
    instanceId,
    password: sealSecret(jobPayloadKey(env.COFFER_MASTER_KEY), password, 'user:root'),
  });
  ctx.log.info({ instanceId }, 'root enabled');
  return { name: 'root', host: '%', password, status: await getRootStatus(ctx, instanceId) };
}

export async function disableRoot(
  ctx: DatabaseAdminContext,
  instanceId: string,
): Promise<RootStatus> {
  await requireActiveInstance(ctx, instanceId);
  await callTaskmanager('root.disable', instanceId, { instanceId });
  ctx.log.info({ instanceId }, 'root disabled');
  return getRootStatus(ctx, instanceId);
}
