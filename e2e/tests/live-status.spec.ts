import { expect, test, type Browser, type Page } from '@playwright/test';
import mysql from 'mysql2/promise';

import {
  addressOf,
  createInstanceFromForm,
  createProject,
  seedUser,
  signIn,
  signUp,
  uniqueEmail,
  useDatabase,
} from './helpers';
import { ViewRecorder } from './live-views';

/**
 * Live status is the console's promise: every view of an instance (its page's header, the
 * instance list, a source's Replication tab, the admin view) and of a backup (an instance's
 * Backups tab, the project's Backups page) follows the same change events, and they agree
 * within a second, through a backup, a restore, a replica create and a promote. Each view is
 * open in a page of its own at the same time, and every change each shows is recorded with
 * the time it was shown.
 */

const prisma = useDatabase();

const INSTANCE_VIEWS = ['detail header', 'list row', 'admin row'];

function idInUrl(page: Page): string {
  const match = /\/instances\/([0-9a-f-]{36})/.exec(page.url());
  expect(match, page.url()).not.toBeNull();
  return match![1]!;
}

/** An operator (seeded) watching the admin view, in a browser context of their own. */
async function openAdminView(browser: Browser): Promise<Page> {
  const operator = await seedUser(prisma, 'operator', { isOperator: true });
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, operator);
  await expect(admin.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  await admin.goto('/admin');
  await expect(admin.getByRole('heading', { name: 'All instances' })).toBeVisible();
  return admin;
}

/** Creates an instance from the form and waits on its page until it is ACTIVE. */
async function createInstance(page: Page, name: string): Promise<{ id: string; password: string }> {
  const password = (await createInstanceFromForm(page, {
    name,
    database: 'shop',
    user: 'shop_app',
  }))!;
  const status = page.getByRole('heading', { name }).locator('[data-status]');
  await expect(status).toHaveAttribute('data-status', 'ACTIVE', { timeout: 120_000 });
  return { id: idInUrl(page), password };
}

/** Which of `views` (`<page> <header|row>`) showed `value` for `datum` since `since`. */
function viewsThatShowed(
  views: ViewRecorder,
  datum: string,
  value: string,
  since: number,
): string[] {
  const showed = views.changes
    .filter(
      (change) => change.view.endsWith(`:${datum}`) && change.value === value && change.at >= since,
    )
    .map((change) => `${change.page} ${change.view.split(':')[0]}`);
  return [...new Set(showed)].sort();
}

test('the header, the instance list, the Backups tab, the Backups page and the admin view agree through a backup and a restore', async ({
  page,
  context,
  browser,
}) => {
  test.setTimeout(420_000);
  await signUp(page, { name: 'Vera', email: uniqueEmail('vera'), password: 'live-owner-pw-1' });
  await createProject(page, 'Live');
  const projectPath = new URL(page.url()).pathname.replace(/\/instances$/, '');
  const source = await createInstance(page, 'live-db');

  // The same instance and its backups, in four more views open side by side.
  const list = await context.newPage();
  await list.goto(`${projectPath}/instances`);
  const backupsPage = await context.newPage();
  await backupsPage.goto(`${projectPath}/backups`);
  const admin = await openAdminView(browser);
  const views = new ViewRecorder();
  await views.watch(page, 'detail');
  await views.watch(list, 'list');
  await views.watch(backupsPage, 'backups');
  await views.watch(admin, 'admin');
  await views.expectAgreement(`${source.id}:status`, INSTANCE_VIEWS, 'ACTIVE', {
    since: Date.now(),
    timeout: 10_000,
  });

  // A backup: the instance shows BACKUP everywhere, then ACTIVE everywhere; the backup
  // COMPLETED in the tab and on the Backups page.
  await page.bringToFront();
  await page.getByRole('tab', { name: 'Backups' }).click();
  await page.getByRole('button', { name: 'Create backup' }).click();
  const createDialog = page.getByRole('dialog', { name: 'Create a backup' });
  await createDialog.getByLabel('Backup name').fill('nightly');
  let since = Date.now();
  await createDialog.getByRole('button', { name: 'Start backup' }).click();
  await expect(createDialog).toBeHidden();
  const backupRow = page.getByRole('row', { name: /nightly/ });
  const backupId = (await backupRow.getAttribute('data-backup-id'))!;
  await views.expectAgreement(`${backupId}:status`, ['detail row', 'backups row'], 'COMPLETED', {
    since,
    timeout: 180_000,
  });
  await views.expectAgreement(`${source.id}:status`, INSTANCE_VIEWS, 'ACTIVE', {
    since,
    timeout: 10_000,
  });
  // It was seen backing up (a view whose re-read came after the end may have skipped it).
  expect(viewsThatShowed(views, `${source.id}:status`, 'BACKUP', since)).not.toEqual([]);
  // The header says what the backup's row says within a second of it (beyond the time the
  // API took to answer reads then, and the taskmanager's clearing the task after the end).
  const completedAt = Math.min(
    ...views.changes
      .filter((change) => change.view === `row:${backupId}:status` && change.value === 'COMPLETED')
      .map((change) => change.at),
  );
  const activeAt = Math.max(
    ...views.changes
      .filter(
        (change) =>
          change.page === 'detail' &&
          change.view === `header:${source.id}:status` &&
          change.value === 'ACTIVE',
      )
      .map((change) => change.at),
  );
  const slowestRead = views.slowestRead(completedAt - 5000, activeAt);
  expect(
    activeAt - completedAt,
    `the header turned ACTIVE after the backup COMPLETED (the slowest read then took ${slowestRead} ms)`,
  ).toBeLessThanOrEqual(1000 + slowestRead);

  // A restore to a new instance: its page, the list and the admin view follow it to ACTIVE.
  since = Date.now();
  await backupRow.getByRole('button', { name: 'Restore nightly' }).click();
  const restoreDialog = page.getByRole('dialog', { name: 'Restore nightly?' });
  await expect(restoreDialog.getByLabel('New instance name')).toHaveValue(/^live-db-restore-/);
  const restoredName = await restoreDialog.getByLabel('New instance name').inputValue();
  await restoreDialog.getByRole('button', { name: 'Restore to new instance' }).click();
  await expect(page.getByRole('heading', { name: restoredName })).toBeVisible();
  const restoredId = idInUrl(page);
  expect(restoredId).not.toBe(source.id);
  await views.expectAgreement(`${restoredId}:status`, INSTANCE_VIEWS, 'ACTIVE', {
    since,
    timeout: 180_000,
  });
  expect(viewsThatShowed(views, `${restoredId}:status`, 'BUILD', since)).toEqual(
    [...INSTANCE_VIEWS].sort(),
  );
  await views.expectAgreement(`${source.id}:status`, ['list row', 'admin row'], 'ACTIVE', {
    since,
    timeout: 10_000,
  });
  await views.expectAgreement(`${backupId}:status`, ['backups row'], 'COMPLETED', {
    since,
    timeout: 10_000,
  });
});

test('a replica created and promoted by clicking: every view agrees on statuses, roles and names', async ({
  page,
  context,
  browser,
}) => {
  test.setTimeout(480_000);
  await signUp(page, { name: 'Ross', email: uniqueEmail('ross'), password: 'live-owner-pw-2' });
  await createProject(page, 'Replicated');
  const projectPath = new URL(page.url()).pathname.replace(/\/instances$/, '');
  const source = await createInstance(page, 'main-db');
  const writer = await mysql.createConnection({
    ...(await addressOf(page)),
    user: 'shop_app',
    password: source.password,
    database: 'shop',
  });
  await writer.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40))');
  await writer.query("INSERT INTO orders VALUES (1, 'teapot')");
  await writer.end();

  const list = await context.newPage();
  await list.goto(`${projectPath}/instances`);
  const admin = await openAdminView(browser);
  const views = new ViewRecorder();
  await views.watch(page, 'source');
  await views.watch(list, 'list');
  await views.watch(admin, 'admin');
  /** The source's page, the list and the admin view all say ACTIVE (soon after `from`). */
  const expectSourceActiveEverywhere = (from: number) =>
    views.expectAgreement(
      `${source.id}:status`,
      ['source header', 'list row', 'admin row'],
      'ACTIVE',
      { since: from, timeout: 10_000 },
    );

  // Create a replica from the source's Replication tab.
  await page.bringToFront();
  await page.getByRole('tab', { name: 'Replication' }).click();
  await page.getByRole('button', { name: 'Create replica' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create replicas of main-db' });
  let since = Date.now();
  await dialog.getByRole('button', { name: 'Create replica' }).click();
  await expect(dialog).toBeHidden();
  const replicaRow = page.getByRole('row', { name: /main-db-replica/ });
  await expect(replicaRow).toBeVisible();
  const replicaId = (await replicaRow.getAttribute('data-replica-id'))!;
  const replicaViews = ['source row', 'list row', 'admin row'];
  await views.expectAgreement(`${replicaId}:status`, replicaViews, 'ACTIVE', {
    since,
    timeout: 240_000,
  });
  await views.expectAgreement(
    `${replicaId}:replication`,
    ['source row', 'list row'],
    'REPLICATING',
    {
      since,
      timeout: 60_000,
    },
  );
  await expectSourceActiveEverywhere(since);
  // The snapshot was a backup of the source; the replica was built.
  expect(viewsThatShowed(views, `${source.id}:status`, 'BACKUP', since)).not.toEqual([]);
  expect(viewsThatShowed(views, `${replicaId}:status`, 'BUILD', since)).toEqual(
    [...replicaViews].sort(),
  );
  await expect(list.getByRole('row', { name: /main-db / })).toContainText('source · 1 replica');

  // Promote it from its own page.
  const replicaPage = await context.newPage();
  await replicaPage.goto(`${projectPath}/instances/${replicaId}`);
  await views.watch(replicaPage, 'replica');
  await expect(replicaPage.getByRole('heading', { name: /main-db-replica/ })).toContainText(
    'Replica',
  );
  await replicaPage.getByRole('tab', { name: 'Replication' }).click();
  await replicaPage.getByRole('button', { name: 'Promote to source' }).click();
  const confirm = replicaPage.getByRole('dialog', { name: 'Promote main-db-replica to source?' });
  await expect(confirm).toContainText('No acknowledged transaction is lost');
  since = Date.now();
  await confirm.getByRole('button', { name: 'Promote to source' }).click();
  await expect(confirm).toBeHidden();
  await views.expectAgreement(
    `${replicaId}:status`,
    ['replica header', 'list row', 'admin row'],
    'ACTIVE',
    {
      since,
      timeout: 120_000,
    },
  );
  await expectSourceActiveEverywhere(since);
  // The old source now replicates from the new one, as its page and the list both say.
  await views.expectAgreement(
    `${source.id}:replication`,
    ['source header', 'list row'],
    'REPLICATING',
    {
      since,
      timeout: 60_000,
    },
  );

  // Roles and names, in every view: the promoted replica is the source, the old source its replica.
  const rows = list.getByRole('table', { name: 'Instances' }).getByRole('row');
  await expect(rows.nth(1)).toContainText('main-db-replica');
  await expect(rows.nth(1)).toContainText('source · 1 replica');
  await expect(rows.nth(2)).toContainText('main-db');
  await expect(rows.nth(2).locator('[data-replication-state]')).toHaveAttribute(
    'data-replication-state',
    'REPLICATING',
  );
  const replicaHeading = replicaPage.getByRole('heading', { name: /main-db-replica/ });
  await expect(replicaHeading).not.toContainText('Replica');
  await expect(replicaPage.getByText('Read-only replica')).toHaveCount(0);
  await expect(replicaPage.getByRole('row', { name: /main-db/ })).toBeVisible();
  await replicaPage.getByRole('tab', { name: 'Overview' }).click();
  await expect(replicaPage.getByText('source of 1 replica')).toBeVisible();
  await expect(page.getByRole('heading', { name: /main-db/ })).toContainText('Replica');
  await expect(page.getByText('Read-only replica')).toBeVisible();
  await expect(page.getByRole('link', { name: 'main-db-replica', exact: true })).toBeVisible();
  await page.getByRole('tab', { name: 'Overview' }).click();
  await expect(page.getByText('replica of main-db-replica')).toBeVisible();

  // And it is so: the new source takes writes, which reach the old one, which refuses them.
  const promoted = await mysql.createConnection({
    ...(await addressOf(replicaPage)),
    user: 'shop_app',
    password: source.password,
    database: 'shop',
  });
  await promoted.query("INSERT INTO orders VALUES (2, 'kettle')");
  const oldSource = await mysql.createConnection({
    ...(await addressOf(page)),
    user: 'shop_app',
    password: source.password,
    database: 'shop',
  });
  await expect
    .poll(
      async () =>
        ((await oldSource.query('SELECT COUNT(*) AS n FROM orders'))[0] as Array<{ n: number }>)[0]!
          .n,
      { timeout: 30_000 },
    )
    .toBe(2);
  await expect(oldSource.query("INSERT INTO orders VALUES (3, 'cup')")).rejects.toThrow(
    /read-only|read_only/,
  );
  await promoted.end();
  await oldSource.end();

  // Delete the old source (a replica now): the new source is standalone again in every view,
  // though no event names it (one of another instance changed what it shows).
  await page.getByRole('button', { name: 'Delete' }).click();
  await page
    .getByRole('dialog', { name: 'Delete main-db?' })
    .getByRole('button', { name: 'Delete instance' })
    .click();
  await expect(page).toHaveURL(/\/instances$/, { timeout: 120_000 });
  await expect(list.getByRole('row', { name: /main-db / })).toHaveCount(0, { timeout: 10_000 });
  await expect(
    list
      .getByRole('row', { name: /main-db-replica/ })
      .getByRole('cell')
      .nth(2),
  ).toHaveText('—');
  await expect(replicaPage.getByText('source of 1 replica')).toHaveCount(0);
  await replicaPage.getByRole('tab', { name: 'Replication' }).click();
  await expect(replicaPage.getByRole('heading', { name: 'No replicas' })).toBeVisible();
});
