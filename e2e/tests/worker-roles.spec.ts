import { expect, test } from '@playwright/test';

import { seedUser, signIn, useDatabase } from './helpers';

/**
 * Operators see the worker roles on the Admin page: the workers the config starts (all three
 * roles in one process) report their presence, and each role shows Up with its process.
 */

const prisma = useDatabase();

test('the Admin page shows each worker role up, with its process', async ({ page }) => {
  const { email, password } = await seedUser(prisma, 'operator', { isOperator: true });

  await signIn(page, { email, password });
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  await page.goto('/admin');
  const roles = page.getByRole('table', { name: 'Worker roles' });
  for (const role of ['taskmanager', 'conductor', 'watchdog']) {
    const row = roles.getByRole('row', { name: new RegExp(`^${role}`) });
    await expect(row).toContainText('Up', { timeout: 30_000 });
    await expect(row).toContainText(/pid \d+: started/);
  }
});
