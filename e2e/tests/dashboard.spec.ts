import { expect, test } from '@playwright/test';

import { createInstanceFromForm, createProject, signUp, uniqueEmail, useDatabase } from './helpers';

const prisma = useDatabase();

test("the project's dashboard follows a new instance live: 1 ACTIVE, its volume against the quota, its events", async ({
  page,
}) => {
  test.setTimeout(180_000);
  await signUp(page, { name: 'Grace', email: uniqueEmail('grace'), password: 'dashboard-pw-1' });
  await createProject(page, 'Overview');
  await createInstanceFromForm(page, { name: 'dash-db', database: '', user: '' });
  await expect(page.getByRole('heading', { name: /dash-db/ })).toBeVisible();
  const instanceId = /\/instances\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  const { volumeSizeGb } = await prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });

  // Dashboard is the first entry of the project's navigation.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link').first()).toHaveText('Dashboard');
  await nav.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard', exact: true })).toBeVisible();
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });

  // The build ends while the page is open: the counts follow without a reload.
  const byStatus = page.getByRole('list', { name: 'Instances by status' });
  await expect(byStatus.getByRole('listitem')).toHaveAccessibleName('1 ACTIVE', {
    timeout: 90_000,
  });
  const instances = page.getByRole('region', { name: 'Instances' });
  await expect(instances.getByRole('link', { name: '1 instance', exact: true })).toHaveAttribute(
    'href',
    /\/instances$/,
  );
  await expect(page.getByRole('region', { name: 'Needs attention' })).toContainText(
    'Nothing needs attention.',
  );

  const usage = page.getByRole('region', { name: 'Usage' });
  await expect(usage.getByRole('meter', { name: 'Instances' })).toHaveAttribute(
    'aria-valuenow',
    '1',
  );
  await expect(usage.getByRole('meter', { name: 'Volume storage' })).toHaveAttribute(
    'aria-valuenow',
    String(volumeSizeGb),
  );
  // Backups are on by default, the first one at least an hour away.
  await expect(usage.getByRole('meter', { name: 'Backups' })).toHaveAttribute('aria-valuenow', '0');

  const events = page.getByRole('region', { name: 'Recent events' });
  await expect(events.getByRole('row', { name: /dash-db.*Status BUILD → ACTIVE/ })).toBeVisible();
  await expect(events.getByRole('row', { name: /dash-db.*Create requested/ })).toBeVisible();
  expect(navigations).toEqual([]);
});
