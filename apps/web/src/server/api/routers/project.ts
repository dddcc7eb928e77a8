import { z } from 'zod';

import { emailSchema, projectNameSchema, projectRoleSchema } from '~/lib/schemas';
import {
  createTRPCRouter,
  projectOwnerProcedure,
  projectProcedure,
  protectedProcedure,
} from '~/server/api/trpc';
import { createProject } from '~/server/services/project/create-project';
import {
  attentionEntrySchema,
  dashboardInstancesSchema,
  readProjectDashboard,
} from '~/server/services/project/dashboard';
import {
  addMember,
  changeMemberRole,
  listMembers,
  removeMember,
} from '~/server/services/project/manage-members';
import { timelineEntrySchema } from '~/server/services/timeline/list-timeline';
import { projectQuotasSchema } from './quota';

const projectOutput = z.object({ id: z.string(), name: z.string(), role: projectRoleSchema });
const memberOutput = z.object({
  id: z.string(),
  role: projectRoleSchema,
  createdAt: z.date(),
  user: z.object({ id: z.string(), email: z.string(), name: z.string() }),
});

export const projectRouter = createTRPCRouter({
  /** The projects the signed-in user belongs to. */
  list: protectedProcedure.output(z.array(projectOutput)).query(async ({ ctx }) => {
    const memberships = await ctx.db.membership.findMany({
      // An API token sees only its own project.
      where: {
        userId: ctx.user.id,
        ...(ctx.apiToken ? { projectId: ctx.apiToken.projectId } : {}),
      },
      select: { role: true, project: { select: { id: true, name: true } } },
      orderBy: { project: { name: 'asc' } },
    });
    return memberships.map((m) => ({ ...m.project, role: m.role }));
  }),

  create: protectedProcedure
    .input(z.object({ name: projectNameSchema }))
    .output(projectOutput)
    .mutation(async ({ ctx, input }) => {
      const project = await createProject(ctx.db, { name: input.name, ownerUserId: ctx.user.id });
      ctx.audit.projectId = project.id;
      return project;
    }),

  /** The project as the caller may see it: `access` is `operator` for an operator who is not a member (read-only). */
  get: projectProcedure
    .output(projectOutput.extend({ access: z.enum(['membership', 'operator']) }))
    .query(({ ctx }) => ({ ...ctx.project, role: ctx.role, access: ctx.access })),

  /** The project's dashboard (services/project/dashboard.ts), for any member. */
  dashboard: projectProcedure
    .output(
      z.object({
        instances: dashboardInstancesSchema,
        attention: z.array(attentionEntrySchema),
        quotas: projectQuotasSchema,
        recentEvents: z.array(timelineEntrySchema),
      }),
    )
    .query(({ ctx }) => readProjectDashboard(ctx.db, ctx.project.id)),

  members: projectProcedure
    .output(z.array(memberOutput))
    .query(({ ctx }) => listMembers(ctx.db, ctx.project.id)),

  addMember: projectOwnerProcedure
    .input(z.object({ email: emailSchema, role: projectRoleSchema }))
    .output(memberOutput)
    .mutation(({ ctx, input }) =>
      addMember(ctx.db, { projectId: ctx.project.id, email: input.email, role: input.role }),
    ),

  changeMemberRole: projectOwnerProcedure
    .input(z.object({ membershipId: z.uuid(), role: projectRoleSchema }))
    .output(memberOutput)
    .mutation(({ ctx, input }) =>
      changeMemberRole(ctx.db, {
        projectId: ctx.project.id,
        membershipId: input.membershipId,
        role: input.role,
      }),
    ),

  removeMember: projectOwnerProcedure
    .input(z.object({ membershipId: z.uuid() }))
    .mutation(async ({ ctx, input }) => {
      await removeMember(ctx.db, { projectId: ctx.project.id, membershipId: input.membershipId });
      return { ok: true as const };
    }),
});
