import 'server-only';

import { randomUUID } from 'node:crypto';

import {
  AppError,
  configurationApplySchema,
  findConfigurationCatalog,
  MAX_CONFIGURATION_VALUES,
  validateConfiguration,
  type ConfigurationCatalog,
  type ConfigurationValues,
  type EffectiveParameter,
} from '@coffer/contracts';
import { type Logger } from 'pino';

import { publishChange } from '~/server/events';
import { callTaskmanager, enqueueTaskmanagerJob } from '~/server/queue';
import { type ProjectScopedDb } from '~/server/tenancy';
import {
  type ConfigurationGroupView,
  type InstanceConfigurationView,
} from './configuration-schemas';

/**
 * Configuration groups (issue 15): a project's named values for one datastore version,
 * checked against the version's parameter catalogue (@coffer/contracts), attached to
 * instances of that version. Every change that reaches instances (edit, attach, detach) queues
 * `configuration.apply` for each, which sends the values to the guest; the guest's report is
 * kept on the instance (configurationApply) and its heartbeats say RESTART_REQUIRED while
 * static values wait.
 */

export interface ConfigurationContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

/** At most this many groups in a project. */
export const MAX_CONFIGURATION_GROUPS = 50;

const groupSelect = {
  id: true,
  name: true,
  description: true,
  values: true,
  createdAt: true,
  updatedAt: true,
  datastoreVersionId: true,
  datastoreVersion: {
    select: { name: true, datastore: { select: { name: true, manager: true } } },
  },
  instances: {
    where: { deletedAt: null },
    select: { id: true, name: true },
    orderBy: { name: 'asc' },
  },
} as const;

type GroupRow = {
  id: string;
  name: string;
  description: string;
  values: unknown;
  createdAt: Date;
  updatedAt: Date;
  datastoreVersionId: string;
  datastoreVersion: { name: string; datastore: { name: string; manager: string } };
  instances: { id: string; name: string }[];
};

function viewOf(row: GroupRow): ConfigurationGroupView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    datastore: row.datastoreVersion.datastore.name,
    datastoreVersion: row.datastoreVersion.name,
    datastoreVersionId: row.datastoreVersionId,
    values: (row.values ?? {}) as ConfigurationValues,
    instances: row.instances,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function catalogFor(version: {
  name: string;
  datastore: { manager: string };
}): ConfigurationCatalog {
  const catalog = findConfigurationCatalog(version.datastore.manager, version.name);
  if (!catalog) {
    throw new AppError(
      'BAD_REQUEST',
      `Configuration groups are not available for ${version.datastore.manager} ${version.name}`,
      { field: 'datastoreVersionId' },
    );
  }
  return catalog;
}

/** The values checked and normalized, or BAD_REQUEST naming each parameter and its rule. */
function checkValues(
  catalog: ConfigurationCatalog,
  values: Record<string, unknown>,
): ConfigurationValues {
  const check = validateConfiguration(catalog, values);
  if (check.errors.length > 0) {
    const fieldErrors: Record<string, string[]> = {};
    for (const error of check.errors) {
      (fieldErrors[`values.${error.name.replace(/[^A-Za-z0-9_]/g, '_')}`] ??= []).push(
        error.message,
      );
    }
    throw new AppError('BAD_REQUEST', check.errors.map((error) => error.message).join('; '), {
      field: 'values',
      details: { fieldErrors },
    });
  }
  return check.values;
}

function nameTaken(name: string): AppError {
  const message = `A configuration group named "${name}" already exists in this project`;
  return new AppError('CONFLICT', message, {
    field: 'name',
    details: { fieldErrors: { name: [message] } },
  });
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002';
}

async function findGroup(ctx: ConfigurationContext, id: string): Promise<GroupRow> {
  const row = await ctx.db.configurationGroup.findUnique({ where: { id }, select: groupSelect });
  if (!row) throw new AppError('NOT_FOUND', 'No such configuration group');
  return row;
}

/** Queues `configuration.apply` for each instance (a fresh job id per change: one running never swallows the next). */
async function applyTo(ctx: ConfigurationContext, instanceIds: string[]): Promise<void> {
  for (const instanceId of instanceIds) {
    await enqueueTaskmanagerJob('configuration.apply', `${instanceId}-${randomUUID()}`, {
      instanceId,
    });
    await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  }
}

export async function listConfigurationGroups(
  ctx: ConfigurationContext,
): Promise<ConfigurationGroupView[]> {
  const rows = await ctx.db.configurationGroup.findMany({
    select: groupSelect,
    orderBy: { name: 'asc' },
  });
  return rows.map(viewOf);
}

export async function getConfigurationGroup(
  ctx: ConfigurationContext,
  id: string,
): Promise<ConfigurationGroupView> {
  return viewOf(await findGroup(ctx, id));
}

export async function createConfigurationGroup(
  ctx: ConfigurationContext,
  input: {
    name: string;
    description?: string;
    datastoreVersionId: string;
    values: Record<string, unknown>;
  },
): Promise<ConfigurationGroupView> {
  const version = await ctx.db.datastoreVersion.findFirst({
    where: { id: input.datastoreVersionId, isActive: true },
    select: { id: true, name: true, datastore: { select: { manager: true } } },
  });
  if (!version) {
    throw new AppError('NOT_FOUND', 'No such datastore version', { field: 'datastoreVersionId' });
  }
  const values = checkValues(catalogFor(version), input.values);
  const count = await ctx.db.configurationGroup.count();
  if (count >= MAX_CONFIGURATION_GROUPS) {
    throw new AppError(
      'QUOTA_EXCEEDED',
      `A project may have at most ${MAX_CONFIGURATION_GROUPS} configuration groups`,
    );
  }
  try {
    const row = await ctx.db.configurationGroup.create({
      data: {
        projectId: ctx.projectId,
        name: input.name,
        description: input.description ?? '',
        datastoreVersionId: version.id,
        values,
      },
      select: groupSelect,
    });
    ctx.log.info(
      { groupId: row.id, values: Object.keys(values).length },
      'configuration group created',
    );
    return viewOf(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
}

/** New name, description and/or values; new values reach every attached instance. */
export async function updateConfigurationGroup(
  ctx: ConfigurationContext,
  input: { id: string; name?: string; description?: string; values?: Record<string, unknown> },
): Promise<ConfigurationGroupView> {
  const group = await findGroup(ctx, input.id);
  const values = input.values
    ? checkValues(catalogFor(group.datastoreVersion), input.values)
    : undefined;
  let row: GroupRow;
  try {
    row = await ctx.db.configurationGroup.update({
      where: { id: group.id },
      data: {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(values ? { values } : {}),
      },
      select: groupSelect,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name ?? group.name);
    throw error;
  }
  if (values)
    await applyTo(
      ctx,
      row.instances.map((instance) => instance.id),
    );
  ctx.log.info(
    { groupId: row.id, instances: row.instances.length, valuesChanged: values !== undefined },
    'configuration group updated',
  );
  return viewOf(row);
}

/** Refused while an instance uses the group. */
export async function deleteConfigurationGroup(
  ctx: ConfigurationContext,
  id: string,
): Promise<void> {
  const group = await findGroup(ctx, id);
  if (group.instances.length > 0) {
    throw new AppError(
      'CONFLICT',
      `The configuration group is attached to ${group.instances.map((instance) => instance.name).join(', ')}: detach it first`,
    );
  }
  try {
    await ctx.db.configurationGroup.delete({ where: { id: group.id } });
  } catch (error) {
    // An attach that came meanwhile: the foreign key refuses.
    if ((error as { code?: unknown } | null)?.code === 'P2003') {
      throw new AppError(
        'CONFLICT',
        'The configuration group is attached to an instance: detach it first',
      );
    }
    throw error;
  }
  ctx.log.info({ groupId: id }, 'configuration group deleted');
}

async function findInstance(ctx: ConfigurationContext, instanceId: string) {
  const instance = await ctx.db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: {
      id: true,
      taskStatus: true,
      datastoreVersionId: true,
      configurationGroupId: true,
      configurationApply: true,
    },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'No such instance');
  if (instance.taskStatus === 'DELETING') {
    throw new AppError('CONFLICT', 'The instance is being deleted');
  }
  return instance;
}

/**
 * The group a new or existing instance of `datastoreVersionId` may use: NOT_FOUND for another
 * project's (or no) group, BAD_REQUEST for a group of another version.
 */
export async function requireGroupFor(
  db: ProjectScopedDb,
  groupId: string,
  datastoreVersionId: string,
): Promise<{ id: string }> {
  const group = await db.configurationGroup.findUnique({
    where: { id: groupId },
    select: { id: true, datastoreVersionId: true, datastoreVersion: { select: { name: true } } },
  });
  if (!group) {
    throw new AppError('NOT_FOUND', 'No such configuration group', {
      field: 'configurationGroupId',
    });
  }
  if (group.datastoreVersionId !== datastoreVersionId) {
    throw new AppError(
      'BAD_REQUEST',
      `The configuration group is for version ${group.datastoreVersion.name}, not the instance's`,
      { field: 'configurationGroupId' },
    );
  }
  return group;
}

export async function attachConfigurationGroup(
  ctx: ConfigurationContext,
  input: { instanceId: string; groupId: string },
): Promise<InstanceConfigurationView> {
  const instance = await findInstance(ctx, input.instanceId);
  await requireGroupFor(ctx.db, input.groupId, instance.datastoreVersionId);
  await ctx.db.instance.update({
    where: { id: instance.id },
    data: { configurationGroupId: input.groupId },
  });
  await applyTo(ctx, [instance.id]);
  ctx.log.info({ instanceId: instance.id, groupId: input.groupId }, 'configuration group attached');
  return getInstanceConfiguration(ctx, instance.id);
}

/** The instance goes back to Coffer's and the server's own values. */
export async function detachConfigurationGroup(
  ctx: ConfigurationContext,
  input: { instanceId: string },
): Promise<InstanceConfigurationView> {
  const instance = await findInstance(ctx, input.instanceId);
  if (!instance.configurationGroupId) {
    throw new AppError('CONFLICT', 'The instance has no configuration group');
  }
  await ctx.db.instance.update({
    where: { id: instance.id },
    data: { configurationGroupId: null },
  });
  await applyTo(ctx, [instance.id]);
  ctx.log.info({ instanceId: instance.id }, 'configuration group detached');
  return getInstanceConfiguration(ctx, instance.id);
}

/** The instance's group and what its guest last reported of applying it. */
export async function getInstanceConfiguration(
  ctx: ConfigurationContext,
  instanceId: string,
): Promise<InstanceConfigurationView> {
  const instance = await ctx.db.instance.findFirst({
    where: { id: instanceId, deletedAt: null },
    select: {
      id: true,
      datastoreVersionId: true,
      configurationGroup: { select: { id: true, name: true, values: true, updatedAt: true } },
      configurationApply: true,
    },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'No such instance');
  const lastApply = configurationApplySchema.safeParse(instance.configurationApply);
  const group = instance.configurationGroup;
  return {
    instanceId: instance.id,
    datastoreVersionId: instance.datastoreVersionId,
    group: group
      ? { id: group.id, name: group.name, values: (group.values ?? {}) as ConfigurationValues }
      : null,
    lastApply: lastApply.success ? lastApply.data : null,
    isApplyPending:
      !lastApply.success ||
      lastApply.data.groupId !== (group?.id ?? null) ||
      lastApply.data.groupUpdatedAt !== (group?.updatedAt.toISOString() ?? null),
  };
}

/** Every parameter in force on the instance (asked of its guest), with its source. */
export async function getEffectiveConfiguration(
  ctx: ConfigurationContext,
  instanceId: string,
): Promise<EffectiveParameter[]> {
  await findInstance(ctx, instanceId);
  const { parameters } = await callTaskmanager('configuration.effective', instanceId, {
    instanceId,
  });
  return parameters;
}

/**
 * A group from an instance's values in force (Trove's configuration from an instance): those
 * its group set, and those that differ from the server's default, leaving out the ones Coffer
 * writes itself (sized from the flavor, or fixed) and any the catalogue would refuse.
 */
export async function createGroupFromInstance(
  ctx: ConfigurationContext,
  input: { instanceId: string; name: string; description?: string },
): Promise<ConfigurationGroupView> {
  const instance = await ctx.db.instance.findFirst({
    where: { id: input.instanceId, deletedAt: null },
    select: {
      id: true,
      datastoreVersionId: true,
      datastoreVersion: { select: { name: true, datastore: { select: { manager: true } } } },
    },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'No such instance');
  const catalog = catalogFor(instance.datastoreVersion);
  const parameters = await getEffectiveConfiguration(ctx, instance.id);
  const values: Record<string, unknown> = {};
  for (const parameter of parameters) {
    if (parameter.value === null || Object.keys(values).length >= MAX_CONFIGURATION_VALUES)
      continue;
    const known = catalog.byName.get(parameter.name);
    if (!known) continue;
    const isChanged =
      parameter.source === 'group' ||
      (parameter.source === 'default' && parameter.value !== known.default);
    if (!isChanged) continue;
    if (validateConfiguration(catalog, { [parameter.name]: parameter.value }).errors.length === 0)
      values[parameter.name] = parameter.value;
  }
  return createConfigurationGroup(ctx, {
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    datastoreVersionId: instance.datastoreVersionId,
    values,
  });
}
