import { randomUUID } from 'node:crypto';

import { createPrismaClient } from '@coffer/db';
import { createUserWithPassword, makeOperator } from '@coffer/db/factories';
import { expect, test } from '@playwright/test';

import { signIn, uniqueEmail } from './helpers';

/**
 * Operators see the worker roles on the Admin page: the workers the config starts (all three
 * roles in one process) report their presence, and each role shows Up with its process.
 */

const prisma = createPrismaClient({
  url: process.env.DATABASE_URL!,
  maxConnections: 2,
  applicationName: 'coffer-e2e',
});
test.afterAll(async () => {
  await prisma.$disconnect();
});

test('the Admin page shows each worker role up, with its process', async ({ page }) => {
  const email = uniqueEmail('operator');
  const password = `operator-password-${randomUUID().slice(0, 6)}`;
  const user = await createUserWithPassword(prisma, { email, name: 'Operator', password });
  await makeOperator(prisma, { userId: user.id });

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
