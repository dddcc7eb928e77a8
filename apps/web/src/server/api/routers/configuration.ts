import { AppError, findConfigurationCatalog } from '@coffer/contracts';
import { z } from 'zod';

import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
import {
  attachConfigurationGroup,
  createConfigurationGroup,
  createGroupFromInstance,
  deleteConfigurationGroup,
  detachConfigurationGroup,
  getConfigurationGroup,
  getEffectiveConfiguration,
  getInstanceConfiguration,
  listConfigurationGroups,
  updateConfigurationGroup,
} from '~/server/services/configuration/configuration-groups';
import {
  attachConfigurationGroupInputSchema,
  catalogParameterViewSchema,
  configurationGroupIdInputSchema,
  configurationGroupViewSchema,
  createConfigurationGroupInputSchema,
  createFromInstanceInputSchema,
  effectiveConfigurationViewSchema,
  instanceConfigurationViewSchema,
  instanceIdInputSchema,
  updateConfigurationGroupInputSchema,
} from '~/server/services/configuration/configuration-schemas';

/**
 * Configuration groups (issue 15; Trove's configurations API): members list and read; owners
 * and members create, edit, delete (refused while attached), attach and detach. Another
 * project's group is "not found". `parameters` is the catalogue a group's values are checked
 * against.
 */
export const configurationRouter = createTRPCRouter({
  list: projectProcedure
    .output(z.array(configurationGroupViewSchema))
    .query(({ ctx }) =>
      listConfigurationGroups({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }),
    ),

  get: projectProcedure
    .input(configurationGroupIdInputSchema)
    .output(configurationGroupViewSchema)
    .query(({ ctx, input }) =>
      getConfigurationGroup({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.id),
    ),

  create: projectWriteProcedure
    .input(createConfigurationGroupInputSchema)
    .output(configurationGroupViewSchema)
    .mutation(({ ctx, input }) =>
      createConfigurationGroup({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** New values reach every attached instance (each reports what it applied). */
  update: projectWriteProcedure
    .input(updateConfigurationGroupInputSchema)
    .output(configurationGroupViewSchema)
    .mutation(({ ctx, input }) =>
      updateConfigurationGroup({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  delete: projectWriteProcedure
    .input(configurationGroupIdInputSchema)
    .output(z.object({}))
    .mutation(async ({ ctx, input }) => {
      await deleteConfigurationGroup(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        input.id,
      );
      return {};
    }),

  attach: projectWriteProcedure
    .input(attachConfigurationGroupInputSchema)
    .output(instanceConfigurationViewSchema)
    .mutation(({ ctx, input }) =>
      attachConfigurationGroup({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** Back to Coffer's and the server's own values. */
  detach: projectWriteProcedure
    .input(instanceIdInputSchema)
    .output(instanceConfigurationViewSchema)
    .mutation(({ ctx, input }) =>
      detachConfigurationGroup({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** An instance's group and its guest's last report (applied, waiting for a restart, refused). */
  instance: projectProcedure
    .input(instanceIdInputSchema)
    .output(instanceConfigurationViewSchema)
    .query(({ ctx, input }) =>
      getInstanceConfiguration(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        input.instanceId,
      ),
    ),

  /** Every parameter in force on an instance (asked of its guest): value, source, restart pending. */
  effective: projectProcedure
    .input(instanceIdInputSchema)
    .output(effectiveConfigurationViewSchema)
    .query(({ ctx, input }) =>
      getEffectiveConfiguration(
        { db: ctx.db, projectId: ctx.project.id, log: ctx.log },
        input.instanceId,
      ),
    ),

  /** A new group from an instance's values in force (its group's, and those off the server's default). */
  createFromInstance: projectWriteProcedure
    .input(createFromInstanceInputSchema)
    .output(configurationGroupViewSchema)
    .mutation(({ ctx, input }) =>
      createGroupFromInstance({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** The parameters a datastore version's groups may set. */
  parameters: projectProcedure
    .input(z.object({ datastoreVersionId: z.uuid() }))
    .output(z.array(catalogParameterViewSchema))
    .query(async ({ ctx, input }) => {
      const version = await ctx.db.datastoreVersion.findUnique({
        where: { id: input.datastoreVersionId },
        select: { name: true, datastore: { select: { manager: true } } },
      });
      if (!version) throw new AppError('NOT_FOUND', 'No such datastore version');
      const catalog = findConfigurationCatalog(version.datastore.manager, version.name);
      return (catalog?.parameters ?? []).map((parameter) => ({
        name: parameter.name,
        type: parameter.type,
        dynamic: parameter.dynamic,
        min: parameter.min,
        max: parameter.max,
        allowedValues: parameter.allowedValues,
        default: parameter.default,
        source: parameter.source,
      }));
    }),
});
