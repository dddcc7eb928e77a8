import 'server-only';

import {
  AppError,
  isServing,
  type LogInfo,
  type LogName,
  type LogShowResult,
  type ProjectPublishedLog,
  type PublishedLog,
} from '@coffer/contracts';

import { callTaskmanager } from '~/server/queue';
import { type DatabaseAdminContext } from '../database/active-instance';
import { getInstance } from '../instance/instance-actions';

/**
 * An instance's database logs (issue 16 part 3; Trove's guest logs): the error log, the slow
 * query log and the general log, read and switched by the instance's guest through the
 * taskmanager (the guest keeps their state and masks passwords in everything it returns);
 * published copies are objects in the backup store, listed by the worker. Another project's
 * instance is "not found".
 */

export type LogContext = Pick<DatabaseAdminContext, 'db' | 'log'>;
/** A project's scope: its id with the database handle scoped to it. */
export type ProjectLogContext = LogContext & { projectId: string };

async function requireServingInstance(ctx: LogContext, instanceId: string): Promise<void> {
  const instance = await getInstance(ctx, instanceId);
  if (!isServing(instance.status)) {
    throw new AppError(
      'CONFLICT',
      `The instance is ${instance.status}: its logs can be read while it is ACTIVE`,
    );
  }
}

export async function listLogs(ctx: LogContext, instanceId: string): Promise<LogInfo[]> {
  await requireServingInstance(ctx, instanceId);
  const { logs } = await callTaskmanager('log.list', instanceId, { instanceId });
  return logs;
}

export async function setLogEnabled(
  ctx: LogContext,
  instanceId: string,
  name: LogName,
  enabled: boolean,
): Promise<LogInfo> {
  if (name === 'error') {
    throw new AppError('BAD_REQUEST', 'The error log is always on', { field: 'name' });
  }
  await requireServingInstance(ctx, instanceId);
  const { log } = await callTaskmanager('log.set', instanceId, { instanceId, name, enabled });
  ctx.log.info({ instanceId, log: name, enabled }, 'database log switched');
  return log;
}

/** Sets a log's cap (bytes, with its rotated files), or with null, back to the default. */
export async function setLogCap(
  ctx: LogContext,
  instanceId: string,
  name: LogName,
  capBytes: number | null,
): Promise<LogInfo> {
  await requireServingInstance(ctx, instanceId);
  const { log } = await callTaskmanager('log.set', instanceId, { instanceId, name, capBytes });
  ctx.log.info({ instanceId, log: name, capBytes }, 'database log cap set');
  return log;
}

export async function showLog(
  ctx: LogContext,
  instanceId: string,
  params: {
    name: LogName;
    lines?: number;
    search?: string;
    after?: number;
    fromOffset?: number;
    fileId?: string;
  },
): Promise<LogShowResult> {
  await requireServingInstance(ctx, instanceId);
  return callTaskmanager('log.show', instanceId, { instanceId, ...params });
}

export async function downloadLog(
  ctx: LogContext,
  instanceId: string,
  name: LogName,
): Promise<{ fileName: string; text: string; isTruncated: boolean }> {
  const instance = await getInstance(ctx, instanceId);
  await requireServingInstance(ctx, instanceId);
  const { text, isTruncated } = await callTaskmanager('log.download', instanceId, {
    instanceId,
    name,
  });
  return { fileName: `${instance.name}-${name}.log`, text, isTruncated };
}

export async function publishLog(
  ctx: LogContext,
  instanceId: string,
  name: LogName,
): Promise<PublishedLog> {
  const instance = await getInstance(ctx, instanceId);
  await requireServingInstance(ctx, instanceId);
  const published = await callTaskmanager('log.publish', instanceId, {
    instanceId,
    name,
    instanceName: instance.name,
  });
  ctx.log.info({ instanceId, log: name, object: published.object }, 'database log published');
  return published;
}

export async function listPublishedLogs(
  ctx: LogContext,
  instanceId: string,
): Promise<PublishedLog[]> {
  await getInstance(ctx, instanceId);
  const { published } = await callTaskmanager('log.published', instanceId, { instanceId });
  return published;
}

export type ProjectPublishedLogView = Omit<ProjectPublishedLog, 'instanceName'> & {
  instanceName: string | null;
  isInstanceDeleted: boolean;
};

/** The project's published logs, its deleted instances' too (they outlive the instance). */
export async function listProjectPublishedLogs(
  ctx: ProjectLogContext,
): Promise<ProjectPublishedLogView[]> {
  const { published } = await callTaskmanager('log.projectPublished', ctx.projectId, {
    projectId: ctx.projectId,
  });
  const ids = [...new Set(published.map((copy) => copy.instanceId))].filter((id) =>
    /^[0-9a-f-]{36}$/i.test(id),
  );
  const instances = await ctx.db.instance.findMany({
    where: { id: { in: ids }, projectId: ctx.projectId },
    select: { id: true, name: true, deletedAt: true },
  });
  const byId = new Map(instances.map((instance) => [instance.id, instance]));
  return published.map((copy) => {
    const instance = byId.get(copy.instanceId);
    return {
      ...copy,
      instanceName: instance?.name ?? copy.instanceName ?? null,
      isInstanceDeleted: !instance || instance.deletedAt !== null,
    };
  });
}

/** A published log, opened by the worker with the project's key: another project's is "not found". */
export async function downloadPublishedLog(
  ctx: ProjectLogContext,
  object: string,
): Promise<{ fileName: string; text: string }> {
  const { published, text } = await callTaskmanager('log.openPublished', ctx.projectId, {
    projectId: ctx.projectId,
    object,
  });
  const stamp = published.createdAt.replace(/[:.]/g, '-');
  const instanceName = (published.instanceName ?? 'instance').replace(/[^\w.-]/g, '_');
  return { fileName: `${instanceName}-${published.name}-${stamp}.log`, text };
}
