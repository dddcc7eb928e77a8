import { registerSecret } from '@coffer/testing/secrets';
import { expect, test, type Page } from '@playwright/test';

import { latestMailTo, type SunkMail } from '../mail';
import { createProject, seedUser, signUp, uniqueEmail, useDatabase } from './helpers';

/**
 * Invitations and password reset end to end through a real SMTP server: the console sends its
 * mail over SMTP on loopback to the run's mail sink (e2e/mail-sink.ts, the `smtp-server`
 * package speaking the real protocol), and the tests follow the links in what it received.
 */

const prisma = useDatabase();

/** The mail to `to` whose subject contains `subject`, once it has arrived. */
async function mailTo(to: string, subject: string): Promise<SunkMail> {
  await expect
    .poll(() => latestMailTo(to)?.subject ?? '', { message: `a mail to ${to}` })
    .toContain(subject);
  return latestMailTo(to)!;
}

/** The console link in a mail, its token listed as a secret (no log may hold it). */
function linkIn(mail: SunkMail, path: string): string {
  const link = /https?:\/\/\S+/.exec(mail.text.slice(mail.text.indexOf(path) - 40))?.[0] ?? '';
  expect(link, mail.text).toContain(path);
  registerSecret(`the token of a ${path} link`, link.split(/[/=]/).at(-1));
  // The console of this run, whatever host the mail names.
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
}

async function invite(page: Page, email: string, role: 'Owner' | 'Member' | 'Viewer') {
  await page.getByLabel('Address to invite').fill(email);
  await page.getByLabel('Role to invite with').selectOption({ label: role });
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  await expect(page.getByRole('status')).toContainText(`Invitation mailed to ${email}`);
}

test('an owner invites by email; one invitee signs up from the link, another signs in; a revoked link stops working', async ({
  page,
  browser,
}) => {
  test.setTimeout(90_000);
  await signUp(page, {
    name: 'Olive Owner',
    email: uniqueEmail('olive'),
    password: 'owner-password-1',
  });
  await createProject(page, 'Invites');
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Members' })
    .click();

  const newcomer = uniqueEmail('newcomer');
  const existing = await seedUser(prisma, 'existing');
  const revoked = uniqueEmail('revoked');
  await invite(page, newcomer, 'Viewer');
  await invite(page, existing.email, 'Member');
  await invite(page, revoked, 'Member');
  const invitations = page.getByRole('table', { name: 'Invitations' });
  for (const email of [newcomer, existing.email, revoked])
    await expect(invitations.getByRole('row').filter({ hasText: email })).toContainText('Pending');

  await invitations
    .getByRole('row')
    .filter({ hasText: revoked })
    .getByRole('button', { name: 'Revoke' })
    .click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await expect(invitations.getByRole('row').filter({ hasText: revoked })).toHaveCount(0);

  // The newcomer has no account: sign up from the link (the email filled in), then accept.
  const newcomerLink = linkIn(await mailTo(newcomer, 'invited you to Invites'), '/invite/');
  const guest = await browser.newPage();
  await guest.goto(newcomerLink);
  await expect(
    guest.getByText(`invited ${newcomer} to the project Invites as viewer`),
  ).toBeVisible();
  await guest.getByRole('link', { name: 'Create an account to accept' }).click();
  await expect(guest.getByLabel('Email')).toHaveValue(newcomer);
  await guest.getByLabel('Name').fill('Nora Newcomer');
  registerSecret('the console password of the newcomer', 'newcomer-password-1');
  await guest.getByLabel('Password').fill('newcomer-password-1');
  await guest.getByRole('button', { name: 'Create account' }).click();
  await guest.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(guest).toHaveURL(/\/p\/[0-9a-f-]+\/dashboard$/);
  await expect(guest.getByRole('button', { name: 'Switch project' })).toContainText('Invites');
  // Used once: the link now says so.
  await guest.goto(newcomerLink);
  await expect(guest.getByText('This invitation has already been accepted.')).toBeVisible();
  await guest.context().close();

  // The existing user signs in from the link and accepts.
  const existingLink = linkIn(await mailTo(existing.email, 'invited you to Invites'), '/invite/');
  const member = await browser.newPage();
  await member.goto(existingLink);
  await member.getByRole('link', { name: 'Sign in' }).click();
  await expect(member.getByRole('heading', { name: 'Sign in to Coffer' })).toBeVisible();
  await member.getByLabel('Email').fill(existing.email);
  await member.getByLabel('Password').fill(existing.password);
  await member.getByRole('button', { name: 'Sign in' }).click();
  await member.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(member.getByRole('button', { name: 'Switch project' })).toContainText('Invites');
  await member.context().close();

  // The revoked link leads nowhere.
  const revokedLink = linkIn(await mailTo(revoked, 'invited you to Invites'), '/invite/');
  const stranger = await browser.newPage();
  await stranger.goto(revokedLink);
  await expect(stranger.getByText('This invitation was revoked.')).toBeVisible();
  await stranger.context().close();

  // The owner sees two new members with their roles and no invitation left.
  await page.reload();
  const members = page.getByRole('table', { name: 'Members' });
  await expect(members.getByRole('row').filter({ hasText: newcomer })).toContainText(
    'Nora Newcomer',
  );
  await expect(members.getByLabel(`Role of ${newcomer}`)).toHaveValue('VIEWER');
  await expect(members.getByLabel(`Role of ${existing.email}`)).toHaveValue('MEMBER');
  await expect(page.getByRole('table', { name: 'Invitations' })).toHaveCount(0);

  // The project's audit log names each invitation by its email, with the role it offered.
  const projectPath = /\/p\/[0-9a-f-]{36}/.exec(page.url())![0];
  await page.goto(`${projectPath}/settings/audit`);
  const log = page.getByRole('table', { name: 'Audit log' }).getByRole('row');
  await expect(
    log.filter({ hasText: 'Member invited' }).filter({ hasText: newcomer }),
  ).toContainText('role: VIEWER');
  await expect(log.filter({ hasText: 'Invitation revoked' })).toContainText(revoked);
  await expect(log.filter({ hasText: 'Invitation accepted' })).toHaveCount(2);
});

test('a forgotten password is reset from the mailed link, which works once', async ({ page }) => {
  const user = await seedUser(prisma, 'forgetful');
  await page.goto('/sign-in');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page.getByRole('heading', { name: 'Reset your password' })).toBeVisible();
  await page.getByLabel('Email').fill(user.email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await expect(page.getByText('Check your mail')).toBeVisible();

  const link = linkIn(await mailTo(user.email, 'Reset your Coffer password'), '/reset-password');
  await page.goto(link);
  const newPassword = 'a-brand-new-password';
  registerSecret('the new console password', newPassword);
  await page.getByLabel('New password').fill(newPassword);
  await page.getByLabel('Repeat the password').fill(newPassword);
  await page.getByRole('button', { name: 'Set the password' }).click();
  await expect(page.getByText('Password changed')).toBeVisible();

  // The old password no longer signs in; the new one does.
  await page.getByRole('link', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Coffer' })).toBeVisible();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(
    page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }),
  ).toBeVisible();
  await page.getByLabel('Password').fill(newPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();

  // The link was used.
  await page.context().clearCookies();
  await page.goto(link);
  await page.getByLabel('New password').fill('yet-another-password');
  await page.getByLabel('Repeat the password').fill('yet-another-password');
  await page.getByRole('button', { name: 'Set the password' }).click();
  await expect(
    page.getByRole('alert').filter({ hasText: 'This link is not valid any more' }),
  ).toBeVisible();
});
