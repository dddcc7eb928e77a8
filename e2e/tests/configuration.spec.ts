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
  await page
    .getByRole('dialog', { name: 'Restart tuned-db?' })
    .getByRole('button', { name: 'Restart' })
    .click();
  await expectActive(page, 'tuned-db', 120_000);
  await expect(report).not.toContainText('Waiting for a restart');
});

test('configuration groups page: create (a value out of range refused), edit, list, attach, effective value from the group, a group from the instance, delete refused while attached, detach, delete', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await ownerWithEmptyInstance(page, {
    owner: 'Groups',
    password: 'config-groups-pw-1',
    project: 'Grouped',
    instance: 'grouped-db',
  });

  // The project's Configuration page: none yet.
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Configuration' })
    .click();
  await expect(page.getByRole('heading', { name: 'No configuration groups yet' })).toBeVisible();
  await page.getByRole('link', { name: 'Create group' }).click();
  await expect(page.getByRole('heading', { name: 'Create configuration group' })).toBeVisible();

  // A value outside its range: the API's message next to the values, naming parameter and rule.
  await page.getByLabel('Group name').fill('web-tuning');
  await page.getByLabel('Description').fill('for the web tier');
  await page.getByLabel('Values').fill('max_connections = 100001\nlong_query_time = 2');
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByLabel('Values')).toHaveAttribute('aria-invalid', 'true');
  await expect(
    page.getByText('max_connections: 100001 is above the maximum of 100000'),
  ).toBeVisible();

  await page.getByLabel('Values').fill('max_connections = 150\nlong_query_time = 2');
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('heading', { name: 'web-tuning' })).toBeVisible();
  await expect(page.getByText('No instance uses this group.')).toBeVisible();

  // Edit it: the saved values come back as the form's text.
  await page.getByLabel('Values').fill('max_connections = 180\nlong_query_time = 2');
  await page.getByRole('button', { name: 'Save group' }).click();
  await expect(page.getByText(/^Saved\./)).toBeVisible();
  await expect(page.getByLabel('Values')).toHaveValue('long_query_time = 2\nmax_connections = 180');

  // Listed with its version, values and (no) instances.
  await page.getByRole('link', { name: 'Configuration groups' }).click();
  const row = page.getByRole('table', { name: 'Configuration groups' }).getByRole('row', {
    name: /web-tuning/,
  });
  await expect(row).toContainText('2 values');
  await expect(row).toContainText('none');
  await expect(row).toContainText('MariaDB');

  // Attach it from the instance's Configuration tab.
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Instances' })
    .click();
  await page.getByRole('link', { name: 'grouped-db' }).click();
  await page.getByRole('tab', { name: 'Configuration' }).click();
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'web-tuning' });
  await page.getByRole('button', { name: 'Attach', exact: true }).click();
  const report = page.getByTestId('configuration-report');
  await expect(report).toContainText(/Applied at once: .*max_connections/, { timeout: 60_000 });
  await expect(report).toContainText('long_query_time');

  // The effective configuration: the group's value, its source "group", found by the filter.
  await page.getByLabel('Filter parameters').fill('max_connections');
  const effective = page.getByRole('table', { name: 'Effective configuration' });
  const maxConnections = effective.locator('tr[data-parameter="max_connections"]');
  await expect(maxConnections).toContainText('180', { timeout: 30_000 });
  await expect(maxConnections).toContainText('group');
  await expect(effective.locator('tr[data-parameter="innodb_buffer_pool_size"]')).toHaveCount(0);
  await page.getByLabel('Filter parameters').fill('innodb_buffer_pool_size');
  await expect(effective.locator('tr[data-parameter="innodb_buffer_pool_size"]')).toContainText(
    'flavor',
  );

  // A new group from the instance's values in force (its group's among them).
  await page.getByLabel('New group from this instance').fill('from-grouped-db');
  await page.getByRole('button', { name: 'Create group' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created' })).toContainText(
    'from-grouped-db',
  );

  // The group's page: the instance reports its values applied; delete is refused while attached.
  await page.getByRole('link', { name: 'Edit group' }).click();
  const attached = page.getByRole('table', { name: 'Attached instances' });
  await expect(attached.getByRole('row', { name: /grouped-db/ })).toContainText('Applied');
  await page.getByRole('button', { name: 'Delete group' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Delete group' }).click();
  await expect(dialog.getByRole('alert')).toContainText(
    'The configuration group is attached to grouped-db: detach it first',
  );
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // Detach on the instance, then the delete goes through.
  await attached.getByRole('link', { name: 'grouped-db' }).click();
  await page.getByRole('tab', { name: 'Configuration' }).click();
  await page.getByRole('button', { name: 'Detach' }).click();
  await expect(report).toContainText('Applied at once: none', { timeout: 60_000 });
  await page.getByLabel('Filter parameters').fill('max_connections');
  await expect(effective.locator('tr[data-parameter="max_connections"]')).toContainText('flavor', {
    timeout: 30_000,
  });

  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Configuration' })
    .click();
  await page.getByRole('link', { name: 'web-tuning' }).click();
  await expect(page.getByText('No instance uses this group.')).toBeVisible();
  await page.getByRole('button', { name: 'Delete group' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete group' }).click();
  await expect(
    page.getByRole('heading', { name: 'Configuration groups', exact: true }),
  ).toBeVisible();
  await expect(page.getByRole('link', { name: 'web-tuning' })).toHaveCount(0);

  // The group made from the instance holds the value the instance had from its group.
  await page.getByRole('link', { name: 'from-grouped-db' }).click();
  await expect(page.getByLabel('Values')).toHaveValue(/max_connections = 180/);
  await page.getByRole('button', { name: 'Delete group' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete group' }).click();
  await expect(page.getByRole('heading', { name: 'No configuration groups yet' })).toBeVisible();
});
