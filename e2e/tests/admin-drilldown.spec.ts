import { randomUUID } from 'node:crypto';

import { createProject as seedProject } from '@coffer/db/factories';
import { expect, test } from '@playwright/test';

import { seedUser, signIn, useDatabase } from './helpers';

/**
 * Operators drill down (issue 17): the admin list searched and filtered on the server, an
 * instance's name opening the tenant's own page read-only (a stranger gets a 404 there), and
 * the audit log filtered down to one readable row. Rows are seeded; no server is started.
 */

const prisma = useDatabase();

async function seedTenant() {
  const tag = randomUUID().slice(0, 6);
  const owner = await seedUser(prisma, 'tenant');
  const project = await seedProject(prisma, { name: `Drill ${tag}`, ownerUserId: owner.id });
  const flavor = await prisma.flavor.findFirstOrThrow({
    where: { isDisabled: false },
    orderBy: { ramMb: 'asc' },
  });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const instance = (name: string, fields: { lastHeartbeatAt?: Date; taskStatus?: 'REBOOTING' }) =>
    prisma.instance.create({
      data: {
        projectId: project.id,
        name,
        flavorId: flavor.id,
        datastoreVersionId: version.id,
        volumeSizeGb: 1,
        taskStatus: fields.taskStatus ?? 'NONE',
        serviceStatus: 'RUNNING',
        lastHeartbeatAt: fields.lastHeartbeatAt ?? null,
      },
    });
  const orders = await instance(`orders-${tag}`, { lastHeartbeatAt: new Date() });
  await instance(`ledger-${tag}`, { taskStatus: 'REBOOTING' });
  return { tag, owner, project, orders };
}

test('an operator searches and filters the admin list, opens a tenant’s instance read-only, and filters the audit log to a readable row', async ({
  page,
  browser,
}) => {
  const { tag, owner, project, orders } = await seedTenant();
  // What the audit middleware writes for a refused restart (the API tests write real ones).
  await prisma.auditEvent.create({
    data: {
      projectId: project.id,
      userId: owner.id,
      actorEmail: owner.email,
      path: 'instance.restart',
      resourceId: orders.id,
      result: 'CONFLICT',
      errorCode: 'CONFLICT',
    },
  });
  const operator = await seedUser(prisma, 'operator', { isOperator: true });

  await signIn(page, operator);
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  await page.goto('/admin');
  const table = page.getByRole('table', { name: 'All instances' });
  const controls = page.getByRole('search', { name: 'Instances' });
  await controls.getByRole('searchbox', { name: 'Search' }).fill(tag);
  // The search is applied (on a fresh database these two may be the only instances there are).
  await expect(page).toHaveURL(new RegExp(`[?&]q=${tag}(&|$)`));
  await expect(table.getByRole('row')).toHaveCount(3); // heading + 2
  await controls.getByLabel('Status').selectOption('REBOOT');
  await expect(table.getByRole('row')).toHaveCount(2);
  await expect(table.getByRole('row', { name: new RegExp(`ledger-${tag}`) })).toBeVisible();
  // The view is the URL's, the project filter too: a reload (or a shared link) shows the same.
  await controls.getByLabel('Project').selectOption(project.id);
  await expect(page).toHaveURL(new RegExp(`[?&]project=${project.id}(&|$)`));
  await expect(page).toHaveURL(/[?&]status=REBOOT(&|$)/);
  await page.reload();
  await expect(controls.getByLabel('Status')).toHaveValue('REBOOT');
  await expect(controls.getByLabel('Project')).toHaveValue(project.id);
  await expect(controls.getByRole('searchbox', { name: 'Search' })).toHaveValue(tag);
  await expect(table.getByRole('row')).toHaveCount(2);
  await controls.getByLabel('Status').selectOption('');
  await expect(page.getByRole('navigation', { name: 'Instance pages' })).toContainText('1–2 of 2');

  // The name opens the tenant's own page, read-only, with a banner saying whose view it is.
  await table.getByRole('link', { name: orders.name }).click();
  await expect(page).toHaveURL(`/p/${project.id}/instances/${orders.id}`);
  await expect(page.getByRole('heading', { name: orders.name })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Operator view' })).toContainText(
    project.name,
  );
  await expect(page.getByRole('button', { name: 'Restart' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Switch project' })).toContainText(project.name);
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Instances' })
    .click();
  await expect(page.getByRole('link', { name: orders.name })).toBeVisible();

  // Someone who is neither a member nor an operator: the same URL does not exist.
  const stranger = await seedUser(prisma, 'stranger');
  const strangerPage = await browser.newPage();
  await signIn(strangerPage, stranger);
  await expect(strangerPage.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  const response = await strangerPage.goto(`/p/${project.id}/instances/${orders.id}`);
  expect(response?.status()).toBe(404);
  await strangerPage.close();

  // The audit log, filtered on the server: the refused restart, in words and by name.
  await page.goto('/admin/audit');
  const filters = page.getByRole('search', { name: 'Audit log filters' });
  await filters.getByLabel('Action').selectOption('instance.restart');
  await filters.getByLabel('Outcome').selectOption('failed');
  await filters.getByRole('searchbox', { name: 'Resource' }).fill(`orders-${tag}`);
  const log = page.getByRole('table', { name: 'Audit log' });
  await expect(log.getByRole('row')).toHaveCount(2);
  const row = log.getByRole('row', { name: /Instance restarted/ });
  await expect(row).toContainText(owner.email);
  await expect(row).toContainText(project.name);
  await expect(row).toContainText(orders.name);
  await expect(row.getByRole('cell').last()).toHaveText('Failedconflicts with the current state');
  await expect(row.locator('time')).toHaveText(/\d{4}, \d{1,2}:\d{2}:\d{2}/);
  await expect(row.getByTitle(`Instance ${orders.id}`)).toBeVisible();
  await filters.getByLabel('Outcome').selectOption('succeeded');
  await expect(page.getByRole('heading', { name: 'No event matches' })).toBeVisible();
});
