import { expect, test } from '@playwright/test';

import { expectActive, ownerWithEmptyInstance } from './helpers';

test("an instance's Events tab follows a restart live, with who caused it; the project's Events page shows it too", async ({
  page,
}) => {
  test.setTimeout(240_000);
  await ownerWithEmptyInstance(page, {
    owner: 'Ada',
    password: 'events-owner-pw-1',
    project: 'Timeline',
    instance: 'events-db',
  });

  await page.getByRole('tab', { name: 'Events' }).click();
  const timeline = page.getByRole('table', { name: 'Event timeline' });
  // What the create left: the request (by the owner) and the status changes, newest first.
  await expect(timeline.getByRole('row', { name: /Create requested/ })).toContainText('ada-');
  await expect(timeline.getByRole('row', { name: /Status BUILD → ACTIVE/ })).toBeVisible();
  await expect(timeline.getByRole('row').nth(1)).not.toContainText('Created with');

  // A restart from the header: its entries appear on the open tab, without a reload.
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
  await page.getByRole('button', { name: 'Restart' }).click();
  await page
    .getByRole('dialog', { name: 'Restart events-db?' })
    .getByRole('button', { name: 'Restart' })
    .click();
  await expect(timeline.getByRole('row', { name: /Status ACTIVE → REBOOT/ })).toBeVisible({
    timeout: 30_000,
  });
  await expectActive(page, 'events-db');
  await expect(timeline.getByRole('row', { name: /Status REBOOT → ACTIVE/ })).toBeVisible({
    timeout: 30_000,
  });
  const restartRequest = timeline.getByRole('row', { name: /Restart requested/ });
  await expect(restartRequest).toContainText('ada-');
  // Newest first: the instance back to ACTIVE is above the restart's request.
  const rows = await timeline.getByRole('row').allInnerTexts();
  const backIndex = rows.findIndex((text) => /Status REBOOT → ACTIVE/.test(text));
  const requestIndex = rows.findIndex((text) => /Restart requested/.test(text));
  expect(backIndex).toBeGreaterThan(0);
  expect(backIndex).toBeLessThan(requestIndex);
  expect(navigations).toEqual([]);

  // Filtered by kind: status changes only.
  await page.getByLabel('Kind').selectOption('status');
  await expect(timeline.getByRole('row', { name: /Restart requested/ })).toHaveCount(0);
  await expect(timeline.getByRole('row', { name: /Status REBOOT → ACTIVE/ })).toBeVisible();

  // The project's Events page: the same entries, with the instance named.
  await page.getByRole('link', { name: 'Events' }).click();
  await expect(page.getByRole('heading', { name: 'Events' })).toBeVisible();
  const projectTimeline = page.getByRole('table', { name: 'Event timeline' });
  await expect(
    projectTimeline.getByRole('row', { name: /events-db.*Restart requested/ }),
  ).toBeVisible();
});
