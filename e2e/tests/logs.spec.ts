import { readFileSync } from 'node:fs';

import { expect, test } from '@playwright/test';
import mysql from 'mysql2/promise';

import { createProject, createShopInstance, signUp, uniqueEmail } from './helpers';

test("an instance's Logs tab: enable the slow query log, see a slow query appear in the live tail, download the error log, publish it and download the published copy", async ({
  page,
}) => {
  test.setTimeout(240_000);
  await signUp(page, { name: 'Linus', email: uniqueEmail('linus'), password: 'logs-owner-pw-1' });
  await createProject(page, 'Logged');
  const { password, address, connection } = await createShopInstance(page);
  await connection.end();

  await page.getByRole('tab', { name: 'Logs' }).click();
  const logs = page.getByRole('table', { name: 'Logs' });
  const slowRow = logs.getByRole('row', { name: /Slow query log/ });
  await expect(slowRow).toContainText('Off');
  await expect(logs.getByRole('row', { name: /Error log/ })).toContainText('On');

  await page.getByRole('button', { name: 'Enable slow query log' }).click();
  await expect(slowRow).toContainText('On');
  await page.getByRole('button', { name: 'Show slow query log' }).click();
  const tail = page.getByRole('log', { name: 'Slow query log tail' });
  // The tail is open (its end read) before the query runs.
  await expect(tail).not.toHaveText('Loading…');

  // A slow query from the shop's user, over the address the console shows (a new session
  // takes the new long_query_time).
  const client = await mysql.createConnection({
    ...address,
    user: 'shop_app',
    password,
    database: 'shop',
  });
  try {
    await client.query('SELECT SLEEP(2) AS e2e_slow_marker');
  } finally {
    await client.end();
  }
  // The tail follows the log (what was written after its offset, every second): the query
  // appears without a reload.
  await expect(tail).toContainText('SELECT SLEEP(2) AS e2e_slow_marker', { timeout: 15_000 });
  await page.getByLabel('Search the log').fill('e2e_slow_marker');
  await expect(tail).toContainText('SELECT SLEEP(2) AS e2e_slow_marker');
  await expect(tail).not.toContainText('Query_time', { timeout: 10_000 });

  // The error log, downloaded as a file.
  await page.getByLabel('Search the log').fill('');
  await page.getByRole('button', { name: 'Show error log' }).click();
  await expect(page.getByRole('log', { name: 'Error log tail' })).toContainText(
    'ready for connections',
  );
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download', exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('shop-db-error.log');
  const text = readFileSync((await download.path())!, 'utf8');
  expect(text).toContain('ready for connections');
  expect(text).not.toContain(password);

  // Published to the object store (encrypted), then downloaded back through the console.
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  const copies = page.getByRole('table', { name: 'Published logs' });
  await expect(copies.getByRole('row', { name: /Error log/ })).toBeVisible();
  const [published] = await Promise.all([
    page.waitForEvent('download'),
    copies.getByRole('button', { name: /Download the error log published/ }).click(),
  ]);
  expect(published.suggestedFilename()).toMatch(/^shop-db-error-.*\.log$/);
  const publishedText = readFileSync((await published.path())!, 'utf8');
  expect(publishedText).toContain('ready for connections');
  expect(publishedText).not.toContain(password);

  // The project's Logs page lists it with its instance (and would once the instance is gone).
  await page.getByRole('link', { name: 'Logs', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Published logs' })).toBeVisible();
  await expect(
    page.getByRole('table', { name: 'Published logs' }).getByRole('row', { name: /shop-db/ }),
  ).toContainText('Error log');
});
