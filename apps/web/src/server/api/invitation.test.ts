import { createHash } from 'node:crypto';

import { registerSecret } from '@coffer/testing/secrets';
import { startSmtpCapture, type SmtpCapture } from '@coffer/testing/smtp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { useHarness } from '~/test/suite';

/**
 * Invitations and password reset by mail, through a real SMTP server on loopback (the
 * `smtp-server` package speaks the SMTP protocol; nodemailer delivers to it over TCP as it would
 * to a relay); and the audit details of admin.setQuota.
 */

let smtp: SmtpCapture;
beforeAll(async () => {
  smtp = await startSmtpCapture();
  // Before the harness imports the web app's settings.
  process.env.COFFER_SMTP_URL = smtp.url;
  process.env.COFFER_SMTP_FROM = 'Coffer tests <coffer@test.local>';
});
afterAll(() => smtp?.close());

const h = useHarness();

/** The link to `path` in a mail; its token is registered as a secret (no log may hold it). */
function linkIn(text: string, path: string): string {
  const match = new RegExp(`https?://\\S+${path}\\S+`).exec(text);
  if (!match) throw new Error(`no ${path} link in the mail`);
  registerSecret(`the token of a ${path} link`, match[0].split(/[/=]/).at(-1));
  return match[0];
}

describe('invitations', () => {
  it('mails a link that a user with the invited email accepts once; tokens are stored hashed', async () => {
    const { owner, project } = await h.createProjectWithOwner('Invited');
    const invitee = await h.createUser('invitee');
    const stranger = await h.createUser('stranger');
    const since = smtp.messages.length;

    const created = await h.callerFor(owner).invitation.create({
      projectId: project.id,
      email: invitee.email.toUpperCase(),
      role: 'VIEWER',
    });
    expect(created).toMatchObject({ delivery: 'sent', link: null });
    expect(created.invitation).toMatchObject({
      email: invitee.email,
      role: 'VIEWER',
      state: 'pending',
    });

    const mail = await smtp.waitForMail(invitee.email, { since });
    expect(mail.from).toBe('coffer@test.local');
    expect(mail.subject).toContain('Invited');
    const link = linkIn(mail.text, '/invite/');
    expect(link.startsWith('http://localhost:3100/invite/')).toBe(true);
    const token = link.slice(link.lastIndexOf('/') + 1);

    // Only the SHA-256 is kept.
    const row = await h.prisma.invitation.findUniqueOrThrow({
      where: { id: created.invitation.id },
    });
    expect(row.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);

    expect(await h.callerFor(null).invitation.get({ token })).toMatchObject({
      projectName: 'Invited',
      email: invitee.email,
      role: 'VIEWER',
      state: 'pending',
    });
    expect(await h.callerFor(owner).invitation.list({ projectId: project.id })).toHaveLength(1);

    // Only the invited email; not without signing in.
    expect(await codeOf(h.callerFor(null).invitation.accept({ token }))).toBe('UNAUTHORIZED');
    expect(await codeOf(h.callerFor(stranger).invitation.accept({ token }))).toBe('FORBIDDEN');
    expect(await h.callerFor(invitee).invitation.accept({ token })).toEqual({
      projectId: project.id,
    });
    const membership = await h.prisma.membership.findUniqueOrThrow({
      where: { projectId_userId: { projectId: project.id, userId: invitee.id } },
    });
    expect(membership.role).toBe('VIEWER');
    // Once.
    expect(await codeOf(h.callerFor(invitee).invitation.accept({ token }))).toBe('CONFLICT');
    expect(await h.callerFor(owner).invitation.list({ projectId: project.id })).toEqual([]);

    const events = await h.prisma.auditEvent.findMany({
      where: { projectId: project.id, path: { startsWith: 'invitation.' }, result: 'OK' },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((event) => [event.path, event.resourceId])).toEqual([
      ['invitation.create', created.invitation.id],
      ['invitation.accept', created.invitation.id],
    ]);
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('is refused once revoked or expired, and only owners invite', async () => {
    const { owner, project } = await h.createProjectWithOwner('Revocable');
    const member = await h.createUser('member');
    await h.prisma.membership.create({
      data: { projectId: project.id, userId: member.id, role: 'MEMBER' },
    });
    const invitee = await h.createUser('invitee');
    expect(
      await codeOf(
        h
          .callerFor(member)
          .invitation.create({ projectId: project.id, email: invitee.email, role: 'OWNER' }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        h
          .callerFor(owner)
          .invitation.create({ projectId: project.id, email: member.email, role: 'OWNER' }),
      ),
    ).toBe('CONFLICT');

    let since = smtp.messages.length;
    const first = await h
      .callerFor(owner)
      .invitation.create({ projectId: project.id, email: invitee.email, role: 'MEMBER' });
    const firstToken = linkIn((await smtp.waitForMail(invitee.email, { since })).text, '/invite/')
      .split('/')
      .at(-1)!;
    await h
      .callerFor(owner)
      .invitation.revoke({ projectId: project.id, invitationId: first.invitation.id });
    expect(await h.callerFor(null).invitation.get({ token: firstToken })).toMatchObject({
      state: 'revoked',
    });
    expect(await codeOf(h.callerFor(invitee).invitation.accept({ token: firstToken }))).toBe(
      'CONFLICT',
    );

    since = smtp.messages.length;
    const second = await h
      .callerFor(owner)
      .invitation.create({ projectId: project.id, email: invitee.email, role: 'MEMBER' });
    const secondToken = linkIn((await smtp.waitForMail(invitee.email, { since })).text, '/invite/')
      .split('/')
      .at(-1)!;
    await h.prisma.invitation.update({
      where: { id: second.invitation.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(await h.callerFor(owner).invitation.list({ projectId: project.id })).toMatchObject([
      { id: second.invitation.id, state: 'expired' },
    ]);
    expect(await codeOf(h.callerFor(invitee).invitation.accept({ token: secondToken }))).toBe(
      'CONFLICT',
    );
    expect(
      await h.prisma.membership.count({ where: { projectId: project.id, userId: invitee.id } }),
    ).toBe(0);
  });

  it('without an SMTP server, the owner gets the link', async () => {
    const { createInvitation } = await import('~/server/services/invitation/invitations');
    const { scopeToProject } = await import('~/server/tenancy');
    const { logger } = await import('~/server/logger');
    const { owner, project } = await h.createProjectWithOwner('No mail');
    const since = smtp.messages.length;
    const result = await createInvitation(
      scopeToProject(h.prisma, project.id),
      { mailer: null, linkOf: (path) => `https://coffer.example${path}`, log: logger },
      {
        projectId: project.id,
        projectName: project.name,
        email: 'someone@example.com',
        role: 'MEMBER',
        invitedBy: owner,
      },
    );
    expect(result.delivery).toBe('not-configured');
    expect(result.link).toMatch(/^https:\/\/coffer\.example\/invite\/[A-Za-z0-9_-]{43}$/);
    expect(smtp.messages.length).toBe(since);
  });
});

describe('password reset', () => {
  it('mails a one-hour, single-use link; the new password signs in; unknown emails get the same answer and no mail', async () => {
    const { auth } = await import('~/server/auth');
    const user = await h.createUser('forgetful');
    const session = await auth.api.signInEmail({
      body: { email: user.email, password: 'correct-horse-battery' },
    });
    const since = smtp.messages.length;

    const known = await auth.api.requestPasswordReset({ body: { email: user.email } });
    const unknown = await auth.api.requestPasswordReset({
      body: { email: 'nobody-here@example.com' },
    });
    expect(unknown).toEqual(known);

    const mail = await smtp.waitForMail(user.email, { since });
    const link = linkIn(mail.text, '/reset-password');
    const token = new URL(link).searchParams.get('token')!;
    expect(token.length).toBeGreaterThan(10);
    // Stored as its hash, for an hour.
    const rows = await h.prisma.verification.findMany({ where: { value: user.id } });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    const ttl = rows[0]!.expiresAt.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(59 * 60_000);
    expect(ttl).toBeLessThanOrEqual(60 * 60_000);

    await auth.api.resetPassword({ body: { token, newPassword: 'a brand new password' } });
    await expect(
      auth.api.resetPassword({ body: { token, newPassword: 'yet another password' } }),
    ).rejects.toThrow();
    const signedIn = await auth.api.signInEmail({
      body: { email: user.email, password: 'a brand new password' },
    });
    expect(signedIn.user.id).toBe(user.id);
    // Every session before the reset was signed out.
    expect(await h.prisma.session.count({ where: { token: session.token } })).toBe(0);
    // No mail went to the unknown address.
    expect(smtp.messages.slice(since).flatMap((m) => m.to)).toEqual([user.email]);

    const audited = await h.prisma.auditEvent.findMany({
      where: { userId: user.id, path: { startsWith: 'auth.' } },
      orderBy: { createdAt: 'asc' },
    });
    expect(audited.map((event) => event.path)).toEqual([
      'auth.requestPasswordReset',
      'auth.resetPassword',
    ]);
  });
});

describe('password reset requests', () => {
  it('are limited per email, whether or not it has an account (as sign-ins are)', async () => {
    const { auth } = await import('~/server/auth');
    const { env } = await import('~/env');
    const email = `nobody-${Date.now()}@example.com`;
    for (let i = 0; i < env.COFFER_SIGN_IN_RATE_LIMIT_MAX; i++)
      await auth.api.requestPasswordReset({ body: { email } });
    await expect(auth.api.requestPasswordReset({ body: { email } })).rejects.toMatchObject({
      statusCode: 429,
    });
  });
});

describe('audit details', () => {
  it('admin.setQuota records the limit before and after, and the log shows it', async () => {
    const { owner, project } = await h.createProjectWithOwner('Quota details');
    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    await h
      .callerFor(operator)
      .admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: 7 });
    await h
      .callerFor(operator)
      .admin.setQuota({ projectId: project.id, resource: 'instances', hardLimit: -1 });
    const page = await h
      .callerFor(owner)
      .audit.list({ projectId: project.id, action: 'admin.setQuota' });
    expect(page.events.map((event) => event.details)).toEqual([
      { changes: [{ field: 'instances quota', from: '7', to: 'unlimited' }], override: -1 },
      {
        changes: [
          { field: 'instances quota', from: expect.stringMatching(/^\d+ \(default\)$/), to: '7' },
        ],
        override: 7,
      },
    ]);
    expect(page.events[0]!.resource).toMatchObject({ kind: 'project', name: 'Quota details' });
  });
});
