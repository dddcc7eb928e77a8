import { randomUUID } from 'node:crypto';

import { addMembership, createProject as seedProject } from '@coffer/db/factories';
import { expect, test, type Page } from '@playwright/test';

import { createProject, seedUser, signIn, signUp, uniqueEmail, useDatabase } from './helpers';

/**
 * Operators and scripts: the admin views for operators only, and API tokens made in the
 * console, shown once, used by a script over HTTP, and revoked. People and rows are seeded
 * through the same factories as the seed.
 */

const prisma = useDatabase();

/** A tenant's project with one instance row (the console only reads it here; no server is started). */
async function seedTenantWithInstance() {
  const owner = await seedUser(prisma, 'tenant');
  const project = await seedProject(prisma, {
    name: `Tenant ${randomUUID().slice(0, 4)}`,
    ownerUserId: owner.id,
  });
  const flavor = await prisma.flavor.findFirstOrThrow({
    where: { isDisabled: false },
    orderBy: { ramMb: 'asc' },
  });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const instance = await prisma.instance.create({
    data: {
      projectId: project.id,
      name: `tenant-db-${randomUUID().slice(0, 4)}`,
      flavorId: flavor.id,
      datastoreVersionId: version.id,
      volumeSizeGb: 1,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      faultMessage: 'Seeded for the admin view',
    },
  });
  return { owner, project, instance };
}

function mainNav(page: Page) {
  return page.getByRole('navigation', { name: 'Main' });
}

test('an operator sees an instance of another project in the admin view and force-deletes it; a member sees no Admin', async ({
  page,
  browser,
}) => {
  const { project, instance } = await seedTenantWithInstance();
  const operator = await seedUser(prisma, 'operator', { isOperator: true });
  const member = await seedUser(prisma, 'member');
  await addMembership(prisma, { projectId: project.id, userId: member.id, role: 'MEMBER' });

  await signIn(page, operator);
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  await mainNav(page).getByRole('link', { name: 'Admin' }).click();
  await expect(page.getByRole('heading', { name: 'All instances' })).toBeVisible();
  const row = page
    .getByRole('table', { name: 'All instances' })
    .getByRole('row', { name: new RegExp(instance.name) });
  await expect(row).toContainText(project.name);
  await expect(row).toContainText('Seeded for the admin view');
  await expect(
    page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Queue' }),
  ).toBeVisible();

  // Force delete: the taskmanager removes the row (it has no server), and the list follows live.
  await row.getByRole('button', { name: 'Force delete' }).click();
  const dialog = page.getByRole('dialog', { name: `Force delete ${instance.name}?` });
  await dialog.getByRole('button', { name: 'Force delete' }).click();
  await expect(row).toHaveCount(0, { timeout: 30_000 });
  await expect
    .poll(() => prisma.instance.count({ where: { id: instance.id } }), { timeout: 30_000 })
    .toBe(0);

  // A member of that very project: no Admin in the navigation, and /admin does not exist for them.
  const memberPage = await browser.newPage();
  await signIn(memberPage, member);
  await expect(memberPage.getByRole('heading', { name: 'Instances', exact: true })).toBeVisible();
  await expect(mainNav(memberPage).getByRole('link', { name: 'Members' })).toBeVisible();
  await expect(mainNav(memberPage).getByRole('link', { name: 'Admin' })).toHaveCount(0);
  for (const path of ['/admin', '/admin/queue', '/admin/projects', '/admin/audit']) {
    const response = await memberPage.goto(path);
    expect(response?.status()).toBe(404);
    await expect(memberPage.getByRole('heading', { name: 'Not found' })).toBeVisible();
  }
  await memberPage.close();
});

test('API tokens: create one, see it once, use it from a script, revoke it', async ({
  page,
  request,
}) => {
  await signUp(page, {
    name: 'Scripter',
    email: uniqueEmail('scripter'),
    password: 'token-owner-pw-1',
  });
  await createProject(page, 'Automation');
  const projectId = /\/p\/([0-9a-f-]{36})\//.exec(page.url())![1]!;

  await mainNav(page).getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('meter', { name: 'Instances' })).toHaveAttribute(
    'aria-valuenow',
    '0',
  );
  await page
    .getByRole('navigation', { name: 'Settings' })
    .getByRole('link', { name: 'API tokens' })
    .click();
  await expect(page.getByRole('heading', { name: 'No API tokens yet' })).toBeVisible();

  await page.getByLabel('Token name').fill('ci-script');
  await page.getByLabel('Scope').selectOption('READ_ONLY');
  await page.getByLabel('Expires in').selectOption('7');
  await page.getByRole('button', { name: 'Create token' }).click();
  const shown = page.getByLabel('New token');
  await expect(shown).toHaveText(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9]{43}$/);
  const token = (await shown.textContent())!.trim();
  const row = page.getByRole('row', { name: /ci-script/ });
  await expect(row).toContainText('Read-only');
  await expect(row).toContainText('Active');

  // Shown once: gone after "Done", and nowhere after a reload.
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByLabel('New token')).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('row', { name: /ci-script/ })).toBeVisible();
  expect(await page.content()).not.toContain(token);

  // A script with the token (no cookies): it reads, and being read-only, cannot change anything.
  const input = encodeURIComponent(JSON.stringify({ json: { projectId } }));
  const bearer = { authorization: `Bearer ${token}` };
  const listed = await request.get(`/api/trpc/instance.list?input=${input}`, { headers: bearer });
  expect(listed.status()).toBe(200);
  expect(await listed.json()).toMatchObject({ result: { data: { json: [] } } });
  const refused = await request.post('/api/trpc/project.addMember', {
    headers: { ...bearer, 'content-type': 'application/json' },
    data: { json: { projectId, email: 'someone@example.com', role: 'MEMBER' } },
  });
  expect(refused.status()).toBe(403);

  // Revoke it: the script is refused from then on.
  await page
    .getByRole('row', { name: /ci-script/ })
    .getByRole('button', { name: 'Revoke' })
    .click();
  await page
    .getByRole('dialog', { name: 'Revoke ci-script?' })
    .getByRole('button', { name: 'Revoke token' })
    .click();
  await expect(page.getByRole('row', { name: /ci-script/ })).toContainText('Revoked');
  const afterRevoke = await request.get(`/api/trpc/instance.list?input=${input}`, {
    headers: bearer,
  });
  expect(afterRevoke.status()).toBe(401);

  // The owner's audit log shows both, and the refused script call.
  await page
    .getByRole('navigation', { name: 'Settings' })
    .getByRole('link', { name: 'Audit log' })
    .click();
  const log = page.getByRole('table', { name: 'Audit log' });
  await expect(log.getByRole('row', { name: /API token revoked/ })).toContainText('Succeeded');
  await expect(log.getByRole('row', { name: /API token created/ })).toContainText('ci-script');
  await expect(
    log
      .getByRole('row', { name: /Member added/ })
      .getByRole('cell')
      .last(),
  ).toHaveText('Deniednot allowed');
  await expect(log.getByRole('row', { name: /Member added/ })).toContainText(
    'via API token “ci-script”',
  );
});
