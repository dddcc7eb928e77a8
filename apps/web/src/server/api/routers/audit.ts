import { createTRPCRouter, projectOwnerProcedure } from '~/server/api/trpc';
import {
  auditPageInput,
  auditPageSchema,
  listAuditEvents,
} from '~/server/services/audit/list-audit-events';

/** The project's audit log, for its owners (operators read every project's in the admin router). */
export const auditRouter = createTRPCRouter({
  list: projectOwnerProcedure
    .input(auditPageInput)
    .output(auditPageSchema)
    // Scoped to the project by its client, whatever the input says.
    .query(({ ctx, input }) => listAuditEvents(ctx.db, { ...input, projectId: null })),
});
