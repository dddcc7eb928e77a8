import { expect, test } from '@playwright/test';

import { expectActive, ownerWithEmptyInstance, statusOf } from './helpers';

test('create a configuration group, attach it, see RESTART_REQUIRED and which value waits, restart, see it cleared', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await ownerWithEmptyInstance(page, {
    owner: 'Conf',
    password: 'config-owner-pw-1',
    project: 'Tuning',
    instance: 'tuned-db',
  });

  await page.getByRole('tab', { name: 'Configuration' }).click();
  await page.getByLabel('Group name').fill('tuned');
  // A value outside its range is refused, naming the parameter and the rule.
  await page.getByLabel('Values').fill('max_connections = 100001');
  await page.getByRole('button', { name: 'Create and attach' }).click();
  await expect(
    page.getByText('max_connections: 100001 is above the maximum of 100000'),
  ).toBeVisible();

  await page.getByLabel('Values').fill('max_connections = 120\nperformance_schema = ON');
  await page.getByRole('button', { name: 'Create and attach' }).click();
  await expect(statusOf(page, 'tuned-db')).toHaveAttribute('data-status', 'RESTART_REQUIRED', {
    timeout: 60_000,
  });
  const report = page.getByTestId('configuration-report');
  await expect(report).toContainText('Applied at once: max_connections');
  await expect(report).toContainText('Waiting for a restart: performance_schema');

  await page.getByRole('button', { name: 'Restart' }).click();
  await expectActive(page, 'tuned-db', 120_000);
  await expect(report).not.toContainText('Waiting for a restart');
});
