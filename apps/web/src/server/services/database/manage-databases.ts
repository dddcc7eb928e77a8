import 'server-only';

import { type DatabaseInfo, type DatabaseSpec } from '@coffer/contracts';

import { callTaskmanager } from '~/server/queue';
import { requireActiveInstance, type DatabaseAdminContext } from './active-instance';

/**
 * The databases of an instance (Trove's databases API): read and changed by the instance's
 * guest, through the taskmanager; nothing about them is stored in the control plane.
 */

export async function listDatabases(
  ctx: DatabaseAdminContext,
  instanceId: string,
): Promise<DatabaseInfo[]> {
  await requireActiveInstance(ctx, instanceId);
  const { databases } = await callTaskmanager('database.list', instanceId, { instanceId });
  return databases;
}

export async function createDatabase(
  ctx: DatabaseAdminContext,
  instanceId: string,
  database: DatabaseSpec,
): Promise<DatabaseInfo> {
  await requireActiveInstance(ctx, instanceId);
  const { database: created } = await callTaskmanager('database.create', instanceId, {
    instanceId,
    database,
  });
  ctx.log.info({ instanceId, database: created.name }, 'database created');
  return created;
}

export async function deleteDatabase(
  ctx: DatabaseAdminContext,
  instanceId: string,
  name: string,
): Promise<void> {
  await requireActiveInstance(ctx, instanceId);
  await callTaskmanager('database.delete', instanceId, { instanceId, name });
  ctx.log.info({ instanceId, database: name }, 'database deleted');
}
