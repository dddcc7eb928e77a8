import { z } from 'zod';

import { emailSchema, projectRoleSchema } from '~/lib/schemas';
import {
  addressLimitedProcedure,
  createTRPCRouter,
  projectOwnerProcedure,
  protectedProcedure,
} from '~/server/api/trpc';
import { AppError } from '@coffer/contracts';
import { consoleLink, getMailer } from '~/server/mail/mailer';
import {
  acceptInvitation,
  createInvitation,
  describeInvitation,
  invitationStates,
  invitationTokenSchema,
  invitationViewSchema,
  listInvitations,
  revokeInvitation,
} from '~/server/services/invitation/invitations';

/** Invitations to a project (services/invitation/invitations.ts). */
export const invitationRouter = createTRPCRouter({
  /** The project's pending (and expired) invitations, for its owners. */
  list: projectOwnerProcedure
    .output(z.array(invitationViewSchema))
    .query(({ ctx }) => listInvitations(ctx.db, ctx.project.id)),

  /** Invites an email with a role: mailed when an SMTP server is configured, else the link is returned (once). */
  create: projectOwnerProcedure
    .input(z.object({ email: emailSchema, role: projectRoleSchema }))
    .output(
      z.object({
        invitation: invitationViewSchema,
        delivery: z.enum(['sent', 'not-configured', 'failed']),
        link: z.string().nullable(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await createInvitation(
        ctx.db,
        { mailer: getMailer(), linkOf: consoleLink, log: ctx.log },
        {
          projectId: ctx.project.id,
          projectName: ctx.project.name,
          email: input.email,
          role: input.role,
          invitedBy: ctx.user,
        },
      );
      ctx.audit.resourceId = result.invitation.id;
      ctx.audit.details = {
        changes: [
          { field: 'email', from: null, to: result.invitation.email },
          { field: 'role', from: null, to: result.invitation.role },
        ],
        delivery: result.delivery,
      };
      return result;
    }),

  revoke: projectOwnerProcedure
    .input(z.object({ invitationId: z.uuid({ error: 'Invitation not found' }) }))
    .mutation(async ({ ctx, input }) => {
      await revokeInvitation(ctx.db, {
        projectId: ctx.project.id,
        invitationId: input.invitationId,
      });
      return { ok: true as const };
    }),

  /**
   * What an invitation link's page shows; anyone with the link may read it. Limited per client
   * address (the sign-in limits): tokens are not to be guessed.
   */
  get: addressLimitedProcedure
    .input(z.object({ token: invitationTokenSchema }))
    .output(
      z.object({
        projectName: z.string(),
        email: z.string(),
        role: projectRoleSchema,
        state: z.enum(invitationStates),
        expiresAt: z.date(),
        invitedByName: z.string().nullable(),
      }),
    )
    .query(({ ctx, input }) => describeInvitation(ctx.db, input.token)),

  /** Accepts an invitation as the signed-in user (the invited email); returns the project. */
  accept: protectedProcedure
    .input(z.object({ token: invitationTokenSchema }))
    .output(z.object({ projectId: z.string() }))
    .mutation(async ({ ctx, input }) => {
      if (ctx.apiToken)
        throw new AppError('FORBIDDEN', 'Sign in to the console to accept an invitation');
      const accepted = await acceptInvitation(ctx.db, { token: input.token, user: ctx.user });
      ctx.audit.projectId = accepted.projectId;
      ctx.audit.resourceId = accepted.invitationId;
      return { projectId: accepted.projectId };
    }),
});
