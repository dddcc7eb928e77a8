import {
  renameInstanceInputSchema,
  resizeFlavorInputSchema,
  resizeVolumeInputSchema,
} from '~/lib/resize-schemas';
import { projectWriteProcedure } from '~/server/api/trpc';
import { instanceViewSchema } from '~/server/services/instance/instance-view';
import { renameOne, resizeFlavor, resizeVolume } from '~/server/services/instance/resize-instance';

/**
 * The instance router's resize and rename (issue 13), spread into `instance`:
 * `instance.resizeFlavor`, `instance.resizeVolume`, `instance.rename`.
 */
export const instanceResizeProcedures = {
  /** A new flavor (status RESIZE, a restart, back to ACTIVE; a failure rolls back with a fault). */
  resizeFlavor: projectWriteProcedure
    .input(resizeFlavorInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      resizeFlavor({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** A larger volume (grow only, within the flavor's maximum and the project's quota). */
  resizeVolume: projectWriteProcedure
    .input(resizeVolumeInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      resizeVolume({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),

  /** A new name, unique in the project. */
  rename: projectWriteProcedure
    .input(renameInstanceInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      renameOne({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input),
    ),
};
