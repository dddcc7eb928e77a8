import { instanceRefInputSchema } from '~/lib/database-schemas';
import { projectProcedure, projectWriteProcedure } from '~/server/api/trpc';

/**
 * Procedures on one instance of the project (databases, users, root): `instanceId` beside
 * `projectId` in the input; reads for members, changes for owners and members.
 */
export const instanceProcedure = projectProcedure.input(instanceRefInputSchema);
export const instanceWriteProcedure = projectWriteProcedure.input(instanceRefInputSchema);
