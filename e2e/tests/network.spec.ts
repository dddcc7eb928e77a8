import { expect, test } from '@playwright/test';

import { createProject, expectActive, signUp, uniqueEmail } from './helpers';

test('change allowed sources by clicking: private CIDRs saved and shown, a public network refused on a private instance, then public', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await signUp(page, {
    name: 'Nadia',
    email: uniqueEmail('nadia'),
    password: 'network-owner-pw-1',
  });
  await createProject(page, 'Perimeter');
  // At create: private (the default) with one private network.
  await page.getByRole('link', { name: 'Create instance' }).click();
  await page.getByLabel('Instance name').fill('edge-db');
  await page.getByLabel('Database name').fill('');
  await page.getByLabel('User name').fill('');
  await page.getByLabel('Allowed CIDRs').fill('10.30.0.0/16');
  await page.getByRole('button', { name: 'Create instance' }).click();
  await expectActive(page, 'edge-db');

  await page.getByRole('tab', { name: 'Network' }).click();
  await expect(page.getByText('Private', { exact: true })).toBeVisible();
  await expect(page.getByTestId('allowed-cidrs')).toHaveText('10.30.0.0/16');

  // Two private networks: saved, shown canonical.
  const cidrs = page.getByLabel('Allowed CIDRs');
  await cidrs.fill('10.20.0.0/16\nFD00::/8');
  await page.getByRole('button', { name: 'Save allowed sources' }).click();
  await expect(page.getByTestId('allowed-cidrs')).toHaveText(/10\.20\.0\.0\/16\s*fd00::\/8/);

  // The whole internet on a private instance: refused on the field, nothing changes.
  await cidrs.fill('0.0.0.0/0');
  await page.getByRole('button', { name: 'Save allowed sources' }).click();
  await expect(page.getByText(/private instance cannot allow it/)).toBeVisible();
  await page.reload();
  await page.getByRole('tab', { name: 'Network' }).click();
  await expect(page.getByTestId('allowed-cidrs')).toHaveText(/10\.20\.0\.0\/16\s*fd00::\/8/);

  // Public, with one public network.
  await page.getByLabel('Public (reachable from public networks)').check();
  await page.getByLabel('Allowed CIDRs').fill('203.0.113.0/24');
  await page.getByRole('button', { name: 'Save allowed sources' }).click();
  await expect(page.getByText('Public', { exact: true })).toBeVisible();
  await expect(page.getByTestId('allowed-cidrs')).toHaveText('203.0.113.0/24');
});
