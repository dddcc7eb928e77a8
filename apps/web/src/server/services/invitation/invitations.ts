import 'server-only';

import { createHash, randomBytes } from 'node:crypto';

import { AppError } from '@coffer/contracts';
import { type PrismaClient, type ProjectRole } from '@coffer/db';
import { type Logger } from 'pino';
import { z } from 'zod';

import { ROLE_LABELS } from '~/lib/schemas';
import { type Mailer } from '~/server/mail/mailer';
import { type ProjectScopedDb } from '~/server/tenancy';

/**
 * Invitations to a project: an owner names an email and a role; the invitee gets a link (by
 * mail through the configured SMTP server, else from the owner, who is shown it once). The
 * link's token is 32 random bytes; only its SHA-256 is stored. A link works once, for 7 days,
 * until the owner revokes it, and only for a signed-in user with the invited email (who may
 * sign up first).
 */

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export const invitationStates = ['pending', 'expired', 'accepted', 'revoked'] as const;
export type InvitationState = (typeof invitationStates)[number];

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The console path of an invitation's link. */
export function invitationPath(token: string): string {
  return `/invite/${token}`;
}

/** A token as links carry it (base64url of 32 bytes). */
export const invitationTokenSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, { error: 'This invitation link is not valid' });

function stateOf(row: {
  acceptedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date;
}): InvitationState {
  if (row.acceptedAt) return 'accepted';
  if (row.revokedAt) return 'revoked';
  return row.expiresAt <= new Date() ? 'expired' : 'pending';
}

export const invitationViewSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(['OWNER', 'MEMBER', 'VIEWER']),
  state: z.enum(invitationStates),
  createdAt: z.date(),
  expiresAt: z.date(),
  invitedBy: z.string().nullable(),
});
export type InvitationView = z.infer<typeof invitationViewSchema>;

const viewSelect = {
  id: true,
  email: true,
  role: true,
  createdAt: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  invitedBy: { select: { email: true } },
} as const;

function toView(row: {
  id: string;
  email: string;
  role: ProjectRole;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
  invitedBy: { email: string } | null;
}): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    state: stateOf(row),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    invitedBy: row.invitedBy?.email ?? null,
  };
}

/** The project's invitations not yet accepted nor revoked (pending and expired), newest first. */
export async function listInvitations(db: ProjectScopedDb, projectId: string) {
  const rows = await db.invitation.findMany({
    where: { projectId, acceptedAt: null, revokedAt: null },
    select: viewSelect,
    orderBy: [{ createdAt: 'desc' }],
    take: 200,
  });
  return rows.map(toView);
}

export type Delivery = 'sent' | 'not-configured' | 'failed';

/**
 * Invites `email` to the project with `role`. A pending invitation of the same email is
 * replaced (revoked). Returns the invitation, how it went out, and the link when it was not
 * mailed (the owner passes it on; it is shown once and never stored).
 */
export async function createInvitation(
  db: ProjectScopedDb,
  deps: { mailer: Mailer | null; linkOf: (path: string) => string; log: Logger },
  input: {
    projectId: string;
    projectName: string;
    email: string;
    role: ProjectRole;
    invitedBy: { id: string; name: string; email: string };
  },
): Promise<{ invitation: InvitationView; delivery: Delivery; link: string | null }> {
  const email = input.email.trim().toLowerCase();
  const member = await db.membership.findFirst({
    where: { projectId: input.projectId, user: { email: { equals: email, mode: 'insensitive' } } },
    select: { id: true },
  });
  if (member) throw new AppError('CONFLICT', 'This person is already a member of the project');
  const token = randomBytes(32).toString('base64url');
  const row = await db.$transaction(async (tx) => {
    await tx.invitation.updateMany({
      where: { projectId: input.projectId, email, acceptedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return tx.invitation.create({
      data: {
        projectId: input.projectId,
        email,
        role: input.role,
        tokenHash: hashInvitationToken(token),
        invitedById: input.invitedBy.id,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      },
      select: viewSelect,
    });
  });
  const link = deps.linkOf(invitationPath(token));
  let delivery: Delivery = 'not-configured';
  if (deps.mailer) {
    try {
      await deps.mailer.send({
        to: email,
        subject: `${input.invitedBy.name} invited you to ${input.projectName} on Coffer`,
        text: [
          `${input.invitedBy.name} (${input.invitedBy.email}) invited you to the project`,
          `"${input.projectName}" on Coffer as ${ROLE_LABELS[input.role].toLowerCase()}.`,
          '',
          'Accept the invitation (sign up first if you have no account with this email):',
          link,
          '',
          'The link works once and expires in 7 days. If you did not expect it, ignore this mail.',
        ].join('\n'),
      });
      delivery = 'sent';
    } catch (error) {
      // The reason, never the message (it holds the link).
      deps.log.warn(
        { err: { message: (error as Error).message, code: (error as { code?: string }).code } },
        'invitation: the mail could not be sent',
      );
      delivery = 'failed';
    }
  }
  return { invitation: toView(row), delivery, link: delivery === 'sent' ? null : link };
}

/** Revokes a pending invitation of the project. */
export async function revokeInvitation(
  db: ProjectScopedDb,
  input: { projectId: string; invitationId: string },
) {
  const { count } = await db.invitation.updateMany({
    where: {
      id: input.invitationId,
      projectId: input.projectId,
      acceptedAt: null,
      revokedAt: null,
    },
    data: { revokedAt: new Date() },
  });
  if (count === 0) throw new AppError('NOT_FOUND', 'No pending invitation with this id');
}

/** What the link's page shows: the project, the role, the email, who invited, its state. */
export async function describeInvitation(db: PrismaClient, token: string) {
  const row = await db.invitation.findUnique({
    where: { tokenHash: hashInvitationToken(token) },
    select: {
      ...viewSelect,
      invitedBy: { select: { email: true, name: true } },
      project: { select: { name: true } },
    },
  });
  if (!row) throw new AppError('NOT_FOUND', 'This invitation link is not valid');
  return {
    projectName: row.project.name,
    email: row.email,
    role: row.role,
    state: stateOf(row),
    expiresAt: row.expiresAt,
    invitedByName: row.invitedBy?.name ?? null,
  };
}

/**
 * Accepts an invitation as the signed-in `user`, whose email must be the invited one. The
 * token is used up in the same transaction that adds the membership (a second use, or two at
 * once, finds it used). A user who is already a member keeps their role.
 */
export async function acceptInvitation(
  db: PrismaClient,
  input: { token: string; user: { id: string; email: string } },
): Promise<{ invitationId: string; projectId: string }> {
  const row = await db.invitation.findUnique({
    where: { tokenHash: hashInvitationToken(input.token) },
    select: {
      id: true,
      projectId: true,
      email: true,
      role: true,
      acceptedAt: true,
      revokedAt: true,
      expiresAt: true,
    },
  });
  if (!row) throw new AppError('NOT_FOUND', 'This invitation link is not valid');
  const state = stateOf(row);
  if (state !== 'pending')
    throw new AppError(
      'CONFLICT',
      `This invitation has ${state === 'expired' ? 'expired' : `been ${state}`}`,
    );
  if (row.email !== input.user.email.trim().toLowerCase())
    throw new AppError(
      'FORBIDDEN',
      `This invitation is for ${row.email}; sign in with that email to accept it`,
    );
  await db.$transaction(async (tx) => {
    const { count } = await tx.invitation.updateMany({
      where: { id: row.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
      data: { acceptedAt: new Date(), acceptedById: input.user.id },
    });
    if (count === 0) throw new AppError('CONFLICT', 'This invitation has already been used');
    await tx.membership.upsert({
      where: { projectId_userId: { projectId: row.projectId, userId: input.user.id } },
      create: { projectId: row.projectId, userId: input.user.id, role: row.role },
      update: {},
    });
  });
  return { invitationId: row.id, projectId: row.projectId };
}
