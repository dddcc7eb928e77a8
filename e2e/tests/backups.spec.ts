import { expect, test } from '@playwright/test';
import mysql from 'mysql2/promise';

import {
  addressOf,
  createProject,
  createShopInstance,
  signUp,
  statusOf,
  uniqueEmail,
} from './helpers';

test('back up an instance from its page, watch it complete live, restore it to a new instance, delete the backup', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await signUp(page, { name: 'Grace', email: uniqueEmail('grace'), password: 'backup-owner-pw-1' });
  await createProject(page, 'Shop');

  // An instance with some data.
  const { password, address: source, connection } = await createShopInstance(page);
  const status = statusOf(page, 'shop-db');
  await connection.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40))');
  await connection.query("INSERT INTO orders VALUES (1, 'teapot'), (2, 'kettle')");
  await connection.end();

  // Create a full backup from the Backups tab, and watch it go to COMPLETED without a reload.
  await page.getByRole('tab', { name: 'Backups' }).click();
  await expect(page.getByRole('heading', { name: 'No backups yet' })).toBeVisible();
  await page.getByRole('button', { name: 'Create backup' }).click();
  const createDialog = page.getByRole('dialog', { name: 'Create a backup' });
  await expect(createDialog.getByLabel('Backup type')).toHaveValue('FULL');
  await createDialog.getByLabel('Backup name').fill('before-sale');
  // Every status and progress value the row shows, as the live feed changes them.
  await page.evaluate(() => {
    // Browser globals, typed here (this package has no DOM lib).
    interface Element {
      getAttribute(name: string): string | null;
    }
    const browser = globalThis as unknown as {
      seenBackup: { statuses: string[]; progress: number[] };
      document: { body: unknown; querySelector(selector: string): Element | null };
      MutationObserver: new (callback: () => void) => {
        observe(target: unknown, options: Record<string, boolean>): void;
      };
    };
    const seen = { statuses: [] as string[], progress: [] as number[] };
    browser.seenBackup = seen;
    new browser.MutationObserver(() => {
      const status = browser.document
        .querySelector('tr[data-backup-id] [data-status]')
        ?.getAttribute('data-status');
      if (status && seen.statuses.at(-1) !== status) seen.statuses.push(status);
      const percent = browser.document
        .querySelector('tr[data-backup-id] [role="progressbar"]')
        ?.getAttribute('aria-valuenow');
      if (percent != null && seen.progress.at(-1) !== Number(percent))
        seen.progress.push(Number(percent));
    }).observe(browser.document.body, { subtree: true, childList: true, attributes: true });
  });
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
  await createDialog.getByRole('button', { name: 'Start backup' }).click();
  await expect(createDialog).toBeHidden();
  const row = page.getByRole('row', { name: /before-sale/ });
  await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'COMPLETED', {
    timeout: 120_000,
  });
  expect(navigations).toEqual([]);
  const seen = await page.evaluate(
    () =>
      (globalThis as unknown as { seenBackup: { statuses: string[]; progress: number[] } })
        .seenBackup,
  );
  // It moved live, in order: NEW (unless the guest was quicker than the page), BUILDING as the
  // guest reported it, then COMPLETED; the progress bar never went back.
  expect(seen.statuses.filter((state) => state !== 'NEW')).toEqual(['BUILDING', 'COMPLETED']);
  expect(seen.statuses.indexOf('NEW')).toBeLessThanOrEqual(0);
  expect(seen.progress).toEqual([...seen.progress].sort((a, b) => a - b));
  await expect(row).toContainText('Full');
  await expect(row).toContainText(/\d+(\.\d)? (B|KiB|MiB)/);
  await expect(status).toHaveAttribute('data-status', 'ACTIVE');

  // Restore it to a new instance: two clicks.
  await row.getByRole('button', { name: 'Restore before-sale' }).click();
  const restoreDialog = page.getByRole('dialog', { name: 'Restore before-sale?' });
  await expect(restoreDialog.getByLabel('New instance name')).toHaveValue(/^shop-db-restore-/);
  const restoredName = await restoreDialog.getByLabel('New instance name').inputValue();
  await restoreDialog.getByRole('button', { name: 'Restore to new instance' }).click();
  const restoredStatus = page.getByRole('heading', { name: restoredName }).locator('[data-status]');
  await expect(restoredStatus).toHaveAttribute('data-status', 'ACTIVE', { timeout: 120_000 });
  const restored = await addressOf(page);
  expect(restored.port).not.toBe(source.port);
  const check = await mysql.createConnection({
    ...restored,
    user: 'shop_app',
    password,
    database: 'shop',
  });
  const [orders] = await check.query('SELECT id, item FROM orders ORDER BY id');
  expect(orders).toEqual([
    { id: 1, item: 'teapot' },
    { id: 2, item: 'kettle' },
  ]);
  await check.end();

  // Delete the backup from the project's Backups page, with confirmation.
  await page.getByRole('link', { name: 'Backups' }).first().click();
  await expect(page.getByRole('heading', { name: 'Backups', exact: true })).toBeVisible();
  const listed = page.getByRole('row', { name: /before-sale/ });
  await expect(listed).toContainText('shop-db');
  await listed.getByRole('button', { name: 'Delete before-sale' }).click();
  const deleteDialog = page.getByRole('dialog', { name: 'Delete before-sale?' });
  await expect(deleteDialog).toContainText('cannot be undone');
  await deleteDialog.getByRole('button', { name: 'Delete backup' }).click();
  await expect(page.getByRole('row', { name: /before-sale/ })).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByRole('heading', { name: 'No backups yet' })).toBeVisible();
});
