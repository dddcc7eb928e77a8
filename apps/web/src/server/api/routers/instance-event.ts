import { createTRPCRouter, projectProcedure } from '~/server/api/trpc';
import {
  instanceEventViewSchema,
  listInstanceEvents,
  listInstanceEventsInput,
} from '~/server/services/instance-event/list-instance-events';
import { z } from 'zod';

/** An instance's event timeline (its server or guest restarted unasked, a crash loop), for any member. */
export const instanceEventRouter = createTRPCRouter({
  list: projectProcedure
    .input(listInstanceEventsInput)
    .output(z.array(instanceEventViewSchema))
    .query(({ ctx, input }) => listInstanceEvents(ctx.db, input)),
});
