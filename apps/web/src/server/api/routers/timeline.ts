import { createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import {
  instanceTimelineInput,
  listTimeline,
  projectTimelineInput,
  timelinePageSchema,
} from '~/server/services/timeline/list-timeline';

/**
 * The event timeline (services/timeline), for any member: an instance's, or the whole
 * project's. The console re-reads it on the project's change events (live.onProjectChange).
 */
export const timelineRouter = createTRPCRouter({
  instance: projectProcedure
    .input(instanceTimelineInput)
    .output(timelinePageSchema)
    .query(({ ctx, input }) => listTimeline(ctx.db, input)),

  project: projectProcedure
    .input(projectTimelineInput)
    .output(timelinePageSchema)
    .query(({ ctx, input }) => listTimeline(ctx.db, input)),
});
