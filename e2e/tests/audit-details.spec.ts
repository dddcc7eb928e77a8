import { randomUUID } from 'node:crypto';

import { expect, test } from '@playwright/test';

import { createProject, seedUser, signIn, useDatabase } from './helpers';

/**
 * An audit event records what it changed (AuditEvent.details): an operator's quota change shows
 * the limit before and after, in the project's log and in the operators' one.
 */

const prisma = useDatabase();

test("an operator's quota change shows the limit before and after in both audit logs", async ({
  page,
}) => {
  const operator = await seedUser(prisma, 'quota-operator', { isOperator: true });
  await signIn(page, operator);
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  const name = `Quota ${randomUUID().slice(0, 8)}`;
  await createProject(page, name);
  const projectPath = /\/p\/[0-9a-f-]{36}/.exec(page.url())![0];

  await page.goto('/admin/projects');
  await page
    .getByRole('row')
    .filter({ hasText: name })
    .getByRole('button', { name: 'Edit quotas' })
    .click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Instances').fill('3');
  await dialog.getByRole('button', { name: 'Save quotas' }).click();
  await expect(dialog).toHaveCount(0);

  for (const path of [`${projectPath}/settings/audit`, '/admin/audit']) {
    await page.goto(path);
    const row = page
      .getByRole('table', { name: 'Audit log' })
      .getByRole('row')
      .filter({ hasText: 'Quota changed (operator)' })
      .filter({ hasText: name });
    await expect(row, path).toContainText(/instances quota: \d+ \(default\) → 3/);
  }
});
