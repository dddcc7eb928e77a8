import { createProject } from '@coffer/db/factories';
import { expect, test, type Page } from '@playwright/test';

import { holdScripts, seedUser, signIn, useDatabase } from './helpers';

/**
 * A project with 60 instances (rows seeded straight into the database, no servers): the
 * Instances page shows 25 at a time, sorted, filtered and searched on the server, the view in
 * the URL (a reload keeps it).
 */

const prisma = useDatabase();
const COUNT = 60;

function rowsOf(page: Page) {
  return page.getByRole('table', { name: 'Instances' }).locator('tbody tr');
}

/** The instance names of the table, in order. */
async function namesOf(page: Page): Promise<string[]> {
  return rowsOf(page).locator('td:first-child a').allTextContents();
}

test('the instance list pages, sorts, filters and searches 60 instances on the server, the view in the URL', async ({
  page,
}) => {
  const owner = await seedUser(prisma, 'tables');
  const project = await createProject(prisma, { name: 'Sixty', ownerUserId: owner.id });
  const flavor = await prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const now = Date.now();
  // app-00 … app-59, app-59 the newest; every third one ACTIVE (a heartbeat that stays fresh),
  // the others SHUTDOWN (no task, no heartbeat).
  await prisma.instance.createMany({
    data: Array.from({ length: COUNT }, (_, i) => ({
      projectId: project.id,
      name: `app-${String(i).padStart(2, '0')}`,
      flavorId: flavor.id,
      datastoreVersionId: version.id,
      volumeSizeGb: 1,
      taskStatus: 'NONE' as const,
      serviceStatus: i % 3 === 0 ? ('RUNNING' as const) : ('SHUTDOWN' as const),
      lastHeartbeatAt: i % 3 === 0 ? new Date(now + 3_600_000) : null,
      createdAt: new Date(now - (COUNT - i) * 1000),
    })),
  });

  await signIn(page, owner);
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  await page.goto(`/p/${project.id}/instances`);
  const pager = page.getByRole('navigation', { name: 'Instance pages' });

  // Newest first, 25 a page.
  await expect(pager).toContainText('1–25 of 60');
  await expect(rowsOf(page)).toHaveCount(25);
  expect((await namesOf(page))[0]).toBe('app-59');

  await pager.getByRole('button', { name: 'Next' }).click();
  await expect(pager).toContainText('26–50 of 60');
  await expect(rowsOf(page).first()).toContainText('app-34');
  expect(new URL(page.url()).searchParams.get('page')).toBe('2');
  await pager.getByRole('button', { name: 'Next' }).click();
  await expect(pager).toContainText('51–60 of 60');
  await expect(rowsOf(page)).toHaveCount(10);
  await expect(pager.getByRole('button', { name: 'Next' })).toBeDisabled();

  // A sort starts again at the first page.
  const controls = page.getByRole('search', { name: 'Instances' });
  await controls.getByLabel('Sort').selectOption({ label: 'Name (A–Z)' });
  await expect(pager).toContainText('1–25 of 60');
  await expect(rowsOf(page).first()).toContainText('app-00');
  expect(await namesOf(page)).toEqual(
    Array.from({ length: 25 }, (_, i) => `app-${String(i).padStart(2, '0')}`),
  );

  // ACTIVE only: the 20 with a fresh heartbeat.
  await controls.getByLabel('Status').selectOption('ACTIVE');
  await expect(pager).toContainText('1–20 of 20');
  await expect(rowsOf(page)).toHaveCount(20);
  await expect(rowsOf(page).locator('[data-status]:not([data-status="ACTIVE"])')).toHaveCount(0);

  // And a search: app-10 … app-19 that are ACTIVE (12, 15, 18).
  await controls.getByLabel('Search').fill('app-1');
  await expect(pager).toContainText('1–3 of 3');
  expect(await namesOf(page)).toEqual(['app-12', 'app-15', 'app-18']);
  const url = new URL(page.url());
  expect(Object.fromEntries(url.searchParams)).toEqual({
    q: 'app-1',
    status: 'ACTIVE',
    sort: 'name-asc',
  });

  // A reload shows the same view.
  await page.reload();
  await expect(pager).toContainText('1–3 of 3');
  await expect(controls.getByLabel('Search')).toHaveValue('app-1');
  await expect(controls.getByLabel('Status')).toHaveValue('ACTIVE');
  expect(await namesOf(page)).toEqual(['app-12', 'app-15', 'app-18']);

  // Nothing matches: said so, and the controls stay to change it.
  await controls.getByLabel('Search').fill('no-such-instance');
  await expect(page.getByText('No instance matches')).toBeVisible();
  await controls.getByLabel('Search').fill('');
  await controls.getByLabel('Status').selectOption('');
  await expect(pager).toContainText('1–25 of 60');
});

test('a search typed before the page has hydrated is kept and applied', async ({ page }) => {
  const owner = await seedUser(prisma, 'early-search');
  const project = await createProject(prisma, { name: 'Early', ownerUserId: owner.id });
  const flavor = await prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  await prisma.instance.createMany({
    data: ['alpha-1', 'alpha-2', 'beta-1'].map((name) => ({
      projectId: project.id,
      name,
      flavorId: flavor.id,
      datastoreVersionId: version.id,
      volumeSizeGb: 1,
      taskStatus: 'NONE' as const,
      serviceStatus: 'SHUTDOWN' as const,
    })),
  });
  await signIn(page, owner);
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));

  // The search is typed into the server's HTML, before the page has hydrated.
  const release = await holdScripts(page);
  await page.goto(`/p/${project.id}/instances`, { waitUntil: 'domcontentloaded' });
  await expect(rowsOf(page)).toHaveCount(3);
  const search = page.getByRole('search', { name: 'Instances' }).getByLabel('Search');
  await search.fill('alpha');
  release();

  await expect(page).toHaveURL(/[?&]q=alpha(&|$)/);
  await expect(rowsOf(page)).toHaveCount(2);
  await expect(search).toHaveValue('alpha');
  expect((await namesOf(page)).sort()).toEqual(['alpha-1', 'alpha-2']);
});

test('after a promote, the source called "…-replica" and its replica are renamed from their pages; the list follows', async ({
  page,
}) => {
  const owner = await seedUser(prisma, 'renames');
  const project = await createProject(prisma, { name: 'Promoted', ownerUserId: owner.id });
  const flavor = await prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const serving = {
    projectId: project.id,
    flavorId: flavor.id,
    datastoreVersionId: version.id,
    volumeSizeGb: 1,
    taskStatus: 'NONE' as const,
    serviceStatus: 'RUNNING' as const,
    lastHeartbeatAt: new Date(Date.now() + 3_600_000),
  };
  // As a promote leaves them: the source is named "-replica", its replica the first name.
  const source = await prisma.instance.create({ data: { ...serving, name: 'orders-replica' } });
  const replica = await prisma.instance.create({
    data: {
      ...serving,
      name: 'orders',
      replicaOfId: source.id,
      replicationState: 'REPLICATING',
      replicationLagSeconds: 0,
    },
  });

  await signIn(page, owner);
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  async function rename(instanceId: string, from: string, to: string) {
    await page.goto(`/p/${project.id}/instances/${instanceId}`);
    await expect(page.getByRole('heading', { name: new RegExp(from) })).toBeVisible();
    await page.getByRole('button', { name: 'Rename' }).click();
    const dialog = page.getByRole('dialog', { name: `Rename ${from}` });
    await dialog.getByLabel('Name').fill(to);
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('heading', { name: new RegExp(to) })).toBeVisible();
  }
  await rename(replica.id, 'orders', 'orders-old');
  await rename(source.id, 'orders-replica', 'orders');

  await page.goto(`/p/${project.id}/instances`);
  const rows = rowsOf(page);
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('orders');
  await expect(rows.nth(0).getByRole('cell').nth(2)).toContainText('source · 1 replica');
  await expect(rows.nth(1).getByRole('link', { name: 'orders-old' })).toBeVisible();
  expect(await namesOf(page)).toEqual(['orders', 'orders-old']);
});

test("the project's backups page pages, filters and sorts on the server, the view in the URL", async ({
  page,
}) => {
  const owner = await seedUser(prisma, 'backup-tables');
  const project = await createProject(prisma, { name: 'Thirty', ownerUserId: owner.id });
  const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const instanceId = crypto.randomUUID();
  const now = Date.now();
  // backup-00 … backup-29 of an instance that is gone, backup-29 the newest; every third FAILED.
  await prisma.backup.createMany({
    data: Array.from({ length: 30 }, (_, i) => ({
      projectId: project.id,
      instanceId,
      instanceName: 'gone-db',
      name: `backup-${String(i).padStart(2, '0')}`,
      type: 'FULL' as const,
      status: i % 3 === 0 ? ('FAILED' as const) : ('COMPLETED' as const),
      datastoreVersionId: version.id,
      storeKind: 'local',
      location: `e2e/${instanceId}/${i}`,
      progress: i % 3 === 0 ? 0 : 100,
      sizeBytes: i % 3 === 0 ? null : BigInt((i + 1) * 1024 * 1024),
      createdAt: new Date(now - (30 - i) * 1000),
    })),
  });

  await signIn(page, owner);
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  await page.goto(`/p/${project.id}/backups`);
  const table = page.getByRole('table', { name: 'Backups' });
  const pager = page.getByRole('navigation', { name: 'Backup pages' });
  await expect(pager).toContainText('1–25 of 30');
  await expect(table.locator('tbody tr').first()).toContainText('backup-29');
  await pager.getByRole('button', { name: 'Next' }).click();
  await expect(pager).toContainText('26–30 of 30');
  await expect(table.locator('tbody tr')).toHaveCount(5);

  const controls = page.getByRole('search', { name: 'Backups' });
  await controls.getByLabel('Status').selectOption('FAILED');
  await expect(pager).toContainText('1–10 of 10');
  await controls.getByLabel('Status').selectOption('');
  await controls.getByLabel('Sort').selectOption({ label: 'Largest first' });
  await expect(table.locator('tbody tr').first()).toContainText('backup-29');
  await expect(table.locator('tbody tr').nth(1)).toContainText('backup-28');
  await page.reload();
  await expect(controls.getByLabel('Sort')).toHaveValue('size-desc');
  await expect(table.locator('tbody tr').first()).toContainText('backup-29');
});
