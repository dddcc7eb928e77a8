import { expect, test } from '@playwright/test';

import { expectActive, ownerWithEmptyInstance, statusOf } from './helpers';

test('grow a volume and rename an instance by clicking: confirm, RESIZE, back ACTIVE with the new size; a shrink is refused; the new name everywhere', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await ownerWithEmptyInstance(page, {
    owner: 'Rosa',
    password: 'resize-owner-pw-1',
    project: 'Growth',
    instance: 'grow-db',
  });
  const details = page.getByRole('definition');
  await expect(details.filter({ hasText: /^1 GB$/ })).toBeVisible();
  // The usage bar, once the guest has reported the volume: used of about 1 GB.
  const usageBar = page.getByRole('meter', { name: 'Volume used' });
  await expect(usageBar).toBeVisible({ timeout: 60_000 });
  const usageText = page.getByTestId('volume-usage');
  await expect(usageText).toContainText(/ of \d+(\.\d)? MB \(/);
  const percentBefore = Number(await usageBar.getAttribute('aria-valuenow'));

  // A shrink is refused in the dialog, nothing sent.
  await page.getByRole('button', { name: 'Resize' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Volume size (GB)').fill('0');
  await expect(dialog.getByText(/A volume only grows/)).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Resize' })).toBeDisabled();

  // Grow to 2 GB: confirm, then RESIZE, then ACTIVE with 2 GB.
  await dialog.getByLabel('Volume size (GB)').fill('2');
  await dialog.getByRole('button', { name: 'Resize' }).click();
  await expect(dialog.getByRole('status')).toHaveText(/grows from 1 GB to 2 GB/);
  await dialog.getByRole('button', { name: 'Confirm resize' }).click();
  await expect(dialog).toBeHidden();
  await expectActive(page, 'grow-db', 120_000);
  await expect(details.filter({ hasText: /^2 GB$/ })).toBeVisible();
  // The bar follows: the same data now fills about half as much of a volume of about 2 GB.
  await expect(usageText).toContainText(/ of (1\.9|2\.0) GB \(/);
  await expect
    .poll(async () => Number(await usageBar.getAttribute('aria-valuenow')))
    .toBeLessThan(Math.max(1, percentBefore));

  // Rename: the heading and the list follow.
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('orders-db');
  await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
  await expect(statusOf(page, 'orders-db')).toHaveAttribute('data-status', 'ACTIVE');
  await page.getByRole('link', { name: 'Instances' }).first().click();
  await expect(page.getByRole('link', { name: 'orders-db' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'grow-db' })).toHaveCount(0);
});
