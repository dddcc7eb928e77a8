import { expect, test } from '@playwright/test';
import mysql from 'mysql2/promise';

import { createInstanceFromForm, createProject, signUp, statusOf, uniqueEmail } from './helpers';

test('create an instance by clicking, watch BUILD turn ACTIVE live, copy the connection command, connect, delete it', async ({
  page,
}) => {
  await signUp(page, {
    name: 'Linus',
    email: uniqueEmail('linus'),
    password: 'instance-owner-pw-1',
  });
  await createProject(page, 'Orders');

  // Defaults make it two clicks; name it so it is easy to find.
  const password = (await createInstanceFromForm(page, {
    name: 'orders-db',
    database: 'orders',
    user: 'orders_app',
  }))!;
  expect(password.length).toBeGreaterThanOrEqual(16);

  // The detail page shows BUILD, then ACTIVE, pushed over SSE: no reload happens in between.
  await expect(page.getByRole('heading', { name: /orders-db/ })).toBeVisible();
  const status = statusOf(page, 'orders-db');
  await expect(status).toHaveAttribute('data-status', 'BUILD');
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
  await expect(status).toHaveAttribute('data-status', 'ACTIVE', { timeout: 60_000 });
  expect(navigations).toEqual([]);

  // Copy the connection command (with the user's database, once the lists are read) and use it.
  await expect(page.getByLabel('Connection command')).toHaveText(/ orders$/);
  await page.getByRole('button', { name: 'Copy command' }).click();
  const command = await page.evaluate(() =>
    (
      globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
    ).navigator.clipboard.readText(),
  );
  const match = /^mariadb -h (\S+) -P (\d+) -u orders_app -p orders$/.exec(command);
  expect(match, command).not.toBeNull();
  const connection = await mysql.createConnection({
    host: match![1],
    port: Number(match![2]),
    user: 'orders_app',
    password,
    database: 'orders',
  });
  const [rows] = await connection.query('SELECT DATABASE() AS db, CURRENT_USER() AS user');
  expect(rows).toEqual([{ db: 'orders', user: 'orders_app@%' }]);
  await connection.end();

  // The list shows it ACTIVE too.
  await page.getByRole('link', { name: 'Instances' }).first().click();
  const row = page.getByRole('row', { name: /orders-db/ });
  await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'ACTIVE');

  // Delete with confirmation; it leaves the list without a reload.
  await row.getByRole('link', { name: 'orders-db' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete orders-db?' });
  await expect(dialog).toContainText('cannot be undone');
  await dialog.getByRole('button', { name: 'Delete instance' }).click();
  await expect(page).toHaveURL(/\/instances$/, { timeout: 60_000 });
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible({
    timeout: 60_000,
  });
});

test('the create form answers bad input with field errors and creates nothing', async ({
  page,
}) => {
  await signUp(page, {
    name: 'Margaret',
    email: uniqueEmail('margaret'),
    password: 'instance-owner-pw-2',
  });
  await createProject(page, 'Validation');
  await page.getByRole('link', { name: 'Create instance' }).click();
  await page.getByLabel('Instance name').fill('bad name!');
  await page.getByLabel('Volume size (GB)').fill('0');
  await page.getByLabel('Database name').fill('mysql');
  await page.getByLabel('User name').fill('root');
  await page.getByRole('button', { name: 'Create instance' }).click();
  await expect(page.getByText(/Name may contain letters/)).toBeVisible();
  await expect(page.getByText(/Volume size must be/)).toBeVisible();
  await expect(page.getByText('This is a system schema and cannot be used')).toBeVisible();
  await expect(page.getByText('This user name is reserved')).toBeVisible();
  await page.getByRole('link', { name: 'Instances' }).first().click();
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
});
