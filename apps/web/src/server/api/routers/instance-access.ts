import { setAccessInputSchema } from '~/lib/access-schemas';
import { projectWriteProcedure } from '~/server/api/trpc';
import { instanceViewSchema } from '~/server/services/instance/instance-view';
import { setInstanceAccess } from '~/server/services/instance/set-access';

/** The instance router's allowed sources (issue 13), spread into `instance`: `instance.setAccess`. */
export const instanceAccessProcedures = {
  /** Public or private, and the CIDRs let in (at most 100; a private instance: private ranges only). */
  setAccess: projectWriteProcedure
    .input(setAccessInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      setInstanceAccess({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId, {
        isPublic: input.isPublic,
        allowedCidrs: input.allowedCidrs,
      }),
    ),
};
