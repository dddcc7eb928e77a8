import { tracked } from '@trpc/server';
import { z } from 'zod';

import { createInstanceInputSchema } from '~/lib/instance-schemas';
import { createTRPCRouter, projectProcedure, projectWriteProcedure } from '~/server/api/trpc';
import { changeFeed } from '~/server/events';
import { instanceResizeProcedures } from './instance-resize';
import { instanceAccessProcedures } from './instance-access';
import { domainDb } from '~/server/services/domain-db';
import { createInstance } from '~/server/services/instance/create-instance';
import {
  deleteInstance,
  getInstance,
  restartInstance,
} from '~/server/services/instance/instance-actions';
import {
  instanceSelect,
  instanceViewSchema,
  toInstanceView,
  type InstanceView,
} from '~/server/services/instance/instance-view';
import {
  listProjectInstances,
  projectInstanceListInput,
  projectInstancePageSchema,
} from '~/server/services/instance/list-instances';

const instanceIdInput = z.object({ instanceId: z.uuid({ error: 'Instance not found' }) });

/** What the live subscription sends: an instance as it is now, or the news that it is gone. */
export type InstanceChange =
  { type: 'changed'; instance: InstanceView } | { type: 'deleted'; instanceId: string };

export const instanceRouter = createTRPCRouter({
  list: projectProcedure.output(z.array(instanceViewSchema)).query(async ({ ctx }) => {
    const rows = await ctx.db.instance.findMany({
      where: { deletedAt: null },
      select: instanceSelect,
      orderBy: { createdAt: 'desc' },
    });
    const now = new Date();
    return rows.map((row) => toInstanceView(row, now));
  }),

  /** One page of the project's instances: searched, filtered by status, sorted on the server. */
  listPage: projectProcedure
    .input(projectInstanceListInput)
    .output(projectInstancePageSchema)
    .query(({ ctx, input }) => listProjectInstances(domainDb(ctx.db), ctx.project.id, input)),

  get: projectProcedure
    .input(instanceIdInput)
    .output(instanceViewSchema)
    .query(({ ctx, input }) => getInstance(ctx, input.instanceId)),

  create: projectWriteProcedure
    .input(createInstanceInputSchema)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      createInstance(
        { db: ctx.db, rootDb: ctx.rootDb, projectId: ctx.project.id, log: ctx.log },
        input,
      ),
    ),

  restart: projectWriteProcedure
    .input(instanceIdInput)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      restartInstance({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),

  delete: projectWriteProcedure
    .input(instanceIdInput)
    .output(instanceViewSchema)
    .mutation(({ ctx, input }) =>
      deleteInstance({ db: ctx.db, projectId: ctx.project.id, log: ctx.log }, input.instanceId),
    ),

  /** resizeFlavor, resizeVolume, rename (instance-resize.ts). */
  ...instanceResizeProcedures,

  /** setAccess: allowed sources (instance-access.ts). */
  ...instanceAccessProcedures,

  /**
   * Live changes of this project's instances (all, or one), over SSE. Events of other
   * projects are dropped here, and each changed instance is re-read through the project's
   * scoped client. A (re)connecting client first gets every instance as it is now, so
   * nothing missed while disconnected is lost.
   */
  onChange: projectProcedure
    .input(z.object({ instanceId: z.uuid().optional() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const wanted = (id: string) => !input.instanceId || id === input.instanceId;
      const events = changeFeed.listen(signal);
      const snapshot = await ctx.db.instance.findMany({
        where: { deletedAt: null, ...(input.instanceId ? { id: input.instanceId } : {}) },
        select: instanceSelect,
      });
      let sequence = 0;
      for (const row of snapshot) {
        yield tracked(String(++sequence), {
          type: 'changed',
          instance: toInstanceView(row),
        } as InstanceChange);
      }
      for await (const event of events) {
        if (
          event.projectId !== ctx.project.id ||
          !wanted(event.instanceId) ||
          event.type.startsWith('backup.')
        )
          continue;
        const row = await ctx.db.instance.findFirst({
          where: { id: event.instanceId, deletedAt: null },
          select: instanceSelect,
        });
        const change: InstanceChange = row
          ? { type: 'changed', instance: toInstanceView(row) }
          : { type: 'deleted', instanceId: event.instanceId };
        yield tracked(String(++sequence), change);
      }
    }),
});
