import { expect, test } from '@playwright/test';
import mysql from 'mysql2/promise';

import { addressOf, createProject, createShopInstance, signUp, uniqueEmail } from './helpers';

test('create a replica by clicking, see it replicate under its source, detach it into a writable instance', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await signUp(page, { name: 'Ada', email: uniqueEmail('ada'), password: 'replica-owner-pw-1' });
  await createProject(page, 'Shop');

  // A source with some data.
  const { password, connection: writer } = await createShopInstance(page);
  const sourcePage = page.url();
  await writer.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40))');
  await writer.query("INSERT INTO orders VALUES (1, 'teapot')");

  // Create a replica from the Replication tab, after reading what will happen.
  await page.getByRole('tab', { name: 'Replication' }).click();
  await expect(page.getByRole('heading', { name: 'No replicas' })).toBeVisible();
  await page.getByRole('button', { name: 'Create replica' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create replicas of shop-db' });
  await expect(dialog).toContainText('takes a snapshot of shop-db');
  await expect(dialog).toContainText('read-only');
  await expect(dialog.getByLabel('Number of replicas')).toHaveValue('1');
  await dialog.getByRole('button', { name: 'Create replica' }).click();
  await expect(dialog).toBeHidden();

  // Listed under its source, live: BUILD, then ACTIVE and replicating, in sync.
  const replicaRow = page.getByRole('row', { name: /shop-db-replica/ });
  await expect(replicaRow).toBeVisible();
  // While it is built, a bar says what happens (the snapshot, the server, the restore, the
  // attach), and only moves forward, until ACTIVE.
  const building = replicaRow.getByRole('progressbar', { name: 'Building shop-db-replica' });
  await expect(building).toBeVisible();
  const seen: string[] = [];
  await expect
    .poll(
      async () => {
        const text = await building
          .getAttribute('aria-valuetext', { timeout: 100 })
          .catch(() => null);
        if (text && seen.at(-1) !== text) seen.push(text);
        return replicaRow.locator('[data-status]').getAttribute('data-status');
      },
      { timeout: 120_000, intervals: [200] },
    )
    .toBe('ACTIVE');
  const percents = seen.map((text) => parseInt(text, 10));
  expect(seen.length, seen.join(' → ')).toBeGreaterThanOrEqual(2);
  expect(percents).toEqual([...percents].sort((a, b) => a - b));
  await expect(building).toBeHidden();
  await expect(replicaRow.locator('[data-replication-state]')).toHaveAttribute(
    'data-replication-state',
    'REPLICATING',
    {
      timeout: 30_000,
    },
  );
  await expect(replicaRow).toContainText('in sync');
  await expect(replicaRow).toContainText('GTID');

  // The project's instance list shows it right under its source, with its state and lag.
  await page.getByRole('link', { name: 'Instances' }).first().click();
  const listed = page.getByRole('table', { name: 'Instances' }).getByRole('row');
  await expect(listed.nth(1)).toContainText('shop-db');
  await expect(listed.nth(1)).toContainText('source · 1 replica');
  await expect(listed.nth(2)).toContainText('shop-db-replica');
  await expect(listed.nth(2).locator('[data-replication-state]')).toHaveAttribute(
    'data-replication-state',
    'REPLICATING',
  );

  // What the source writes reaches the replica; the replica refuses the tenant's writes.
  await listed.nth(2).getByRole('link', { name: 'shop-db-replica' }).click();
  await expect(
    page.getByRole('heading', { name: /shop-db-replica/ }).locator('[data-status]'),
  ).toHaveAttribute('data-status', 'ACTIVE');
  const replica = await addressOf(page);
  await writer.query("INSERT INTO orders VALUES (2, 'kettle')");
  const reader = await mysql.createConnection({
    ...replica,
    user: 'shop_app',
    password,
    database: 'shop',
  });
  await expect
    .poll(
      async () =>
        ((await reader.query('SELECT COUNT(*) AS n FROM orders'))[0] as Array<{ n: number }>)[0]!.n,
      { timeout: 30_000 },
    )
    .toBe(2);
  await expect(reader.query("INSERT INTO orders VALUES (3, 'cup')")).rejects.toThrow(
    /read-only|read_only/,
  );
  await page.getByRole('tab', { name: 'Replication' }).click();
  await expect(page.getByText('Read-only replica')).toBeVisible();
  await expect(page.getByRole('link', { name: 'shop-db', exact: true })).toBeVisible();

  // Detach it from its source's Replication tab, after the confirmation says what happens.
  await page.goto(sourcePage);
  await page.getByRole('tab', { name: 'Replication' }).click();
  await page.getByRole('button', { name: 'Detach shop-db-replica' }).click();
  const confirm = page.getByRole('dialog', { name: 'Detach shop-db-replica?' });
  await expect(confirm).toContainText('stops replicating from shop-db for good');
  await confirm.getByRole('button', { name: 'Detach replica' }).click();
  await expect(page.getByRole('heading', { name: 'No replicas' })).toBeVisible({ timeout: 60_000 });

  // Now it takes writes, and it no longer follows: the same key written on both is no conflict.
  await expect
    .poll(
      async () =>
        reader.query("INSERT INTO orders VALUES (3, 'cup')").then(
          () => 'written',
          (error: Error) => error.message,
        ),
      { timeout: 30_000 },
    )
    .toBe('written');
  const [readOnly] = await reader.query('SELECT @@GLOBAL.read_only AS ro');
  expect((readOnly as Array<{ ro: number }>)[0]!.ro).toBe(0);
  await writer.query("INSERT INTO orders VALUES (4, 'saucer')");
  await reader.query("INSERT INTO orders VALUES (4, 'mug')");
  const [rows] = await reader.query('SELECT id, item FROM orders ORDER BY id');
  expect(rows).toEqual([
    { id: 1, item: 'teapot' },
    { id: 2, item: 'kettle' },
    { id: 3, item: 'cup' },
    { id: 4, item: 'mug' },
  ]);
  // Both are standalone in the list: nothing in their Replication column (its third).
  await page.getByRole('link', { name: 'Instances' }).first().click();
  await expect(
    page
      .getByRole('row', { name: /shop-db-replica/ })
      .getByRole('cell')
      .nth(2),
  ).toHaveText('—');
  await expect(
    page
      .getByRole('row', { name: /shop-db / })
      .getByRole('cell')
      .nth(2),
  ).toHaveText('—');
  await reader.end();
  await writer.end();
});
