import 'server-only';

import { randomUUID } from 'node:crypto';

import {
  AppError,
  isServing,
  sourcesCover,
  type Access,
  type AllowedSources,
} from '@coffer/contracts';
import { type Logger } from 'pino';

import { publishChange } from '~/server/events';
import { callTaskmanager, enqueueTaskmanagerJob } from '~/server/queue';
import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from './instance-actions';
import { instanceDatastore } from './instance-datastore';
import { type InstanceView } from './instance-view';

interface AccessContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** How many stranded users a refusal names before it says "and N more". */
const MAX_USERS_NAMED = 10;

/**
 * Database users' hosts must fall inside the allowed sources (issue 13): a change that would
 * leave a user outside them is refused, naming each such user and its host, so the tenant
 * moves or deletes those users first (or keeps their networks). A change that only widens the
 * sources leaves no one outside and is not looked into; one that narrows them asks the guest
 * for the users (as the users tab lists them), so it needs the instance serving (ACTIVE or RESTART_REQUIRED). A user that was
 * outside already (made with root, or before the rule) does not hold a change up.
 */
async function requireUsersStayInside(
  ctx: AccessContext,
  instance: InstanceView,
  access: Access,
): Promise<void> {
  const before: AllowedSources = { isPublic: instance.isPublic, cidrs: instance.allowedCidrs };
  const after: AllowedSources = { isPublic: access.isPublic, cidrs: access.allowedCidrs };
  if (sourcesCover(after, before)) return;
  // Not built yet, or going: the change is refused below for that.
  if (instance.status === 'BUILD' || instance.status === 'DELETING') return;
  if (!isServing(instance.status)) {
    throw new AppError(
      'CONFLICT',
      `The instance is ${instance.status}: narrowing its allowed sources checks its database users' hosts against them, which needs it ACTIVE (adding sources works in any state)`,
    );
  }
  const datastore = await instanceDatastore(ctx.db, instance.id);
  const { users } = await callTaskmanager('user.list', instance.id, { instanceId: instance.id });
  const stranded = users.filter(
    (user) =>
      datastore.userHostOutsideSources(user.host, after) !== null &&
      datastore.userHostOutsideSources(user.host, before) === null,
  );
  if (stranded.length === 0) return;
  const named = stranded.slice(0, MAX_USERS_NAMED).map((user) => `${user.name}@${user.host}`);
  const more = stranded.length - named.length;
  const message = `These database users' hosts would fall outside the new allowed sources: ${named.join(', ')}${
    more > 0 ? ` and ${more} more` : ''
  }. Change their hosts (or delete them) first, or keep their networks in the list`;
  throw new AppError('BAD_REQUEST', message, { field: 'allowedCidrs' });
}

/**
 * Changes who may reach the instance's database port: the row first (the truth, shown at
 * once), then `instance.setAccess`, which puts it on the server's firewall. The input was
 * checked by the contracts' rule before this runs, and the instance's users' hosts against it
 * (requireUsersStayInside): a refusal changes nothing. Refused while the instance has no
 * server yet (its create applies the row's sources) or is being deleted.
 */
export async function setInstanceAccess(
  ctx: AccessContext,
  instanceId: string,
  access: Access,
): Promise<InstanceView> {
  const instance = await getInstance(ctx, instanceId);
  const before = { isPublic: instance.isPublic, allowedCidrs: instance.allowedCidrs };
  await requireUsersStayInside(ctx, instance, access);
  const { count } = await ctx.db.instance.updateMany({
    where: {
      id: instanceId,
      deletedAt: null,
      computeServerId: { not: null },
      taskStatus: { notIn: ['BUILDING', 'DELETING'] },
    },
    data: { isPublic: access.isPublic, allowedCidrs: access.allowedCidrs },
  });
  if (count === 0) {
    throw new AppError(
      'CONFLICT',
      `The allowed sources cannot be changed while the instance is ${instance.status}`,
    );
  }
  try {
    // A job per change (a fresh id): one still running never swallows the next.
    await enqueueTaskmanagerJob('instance.setAccess', randomUUID(), { instanceId });
  } catch (error) {
    await ctx.db.instance.updateMany({ where: { id: instanceId }, data: before });
    throw new AppError('UNAVAILABLE', 'Coffer could not apply the change; try again in a moment', {
      cause: error,
    });
  }
  ctx.log.info(
    { instanceId, isPublic: access.isPublic, allowedCidrs: access.allowedCidrs.length },
    'allowed sources changed',
  );
  await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  return getInstance(ctx, instanceId);
}
