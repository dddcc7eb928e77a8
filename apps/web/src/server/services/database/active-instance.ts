import 'server-only';

import { AppError, isServing } from '@coffer/contracts';
import { type Logger } from 'pino';

import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from '../instance/instance-actions';
import { type InstanceView } from '../instance/instance-view';

/** What the services of this folder get from their procedure. */
export interface DatabaseAdminContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/**
 * The instance of this project (another project's is "not found"), if it is ACTIVE: only a
 * running server with a guest that speaks can list or change its databases, users and root.
 * RESTART_REQUIRED counts as running (configuration values wait for a restart; issue 15).
 * The worker checks again before it asks the guest.
 */
export async function requireActiveInstance(
  ctx: Pick<DatabaseAdminContext, 'db'>,
  instanceId: string,
): Promise<InstanceView> {
  const instance = await getInstance(ctx, instanceId);
  if (!isServing(instance.status)) {
    throw new AppError(
      'CONFLICT',
      `The instance is ${instance.status}: its databases, users and root can be managed while it is ACTIVE`,
    );
  }
  return instance;
}
