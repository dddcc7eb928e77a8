import { registerSecret } from '@coffer/testing/secrets';
import { expect, test, type Page } from '@playwright/test';
import mysql from 'mysql2/promise';

import { ownerWithEmptyInstance } from './helpers';

test('create a database and a user with access by clicking, see them listed, use them, delete them; enable and disable root', async ({
  page,
}) => {
  test.setTimeout(180_000);
  // An empty instance: no first database or user.
  await ownerWithEmptyInstance(page, {
    owner: 'Grace',
    password: 'databases-owner-pw-1',
    project: 'Storefront',
    instance: 'store-db',
  });

  // Databases: create one by clicking; it is listed, system schemas are not.
  await page.getByRole('tab', { name: 'Databases' }).click();
  const databases = page.getByRole('table', { name: 'Databases' });
  await expect(page.getByRole('heading', { name: 'No databases yet' })).toBeVisible({
    timeout: 30_000,
  });
  await page.getByLabel('Database name').fill('orders');
  await page.getByLabel('Character set').selectOption('utf8mb4');
  await page.getByLabel('Collation').selectOption('utf8mb4_bin');
  await page.getByRole('button', { name: 'Create database' }).click();
  await expect(databases.getByRole('row', { name: /orders/ })).toContainText('utf8mb4_bin', {
    timeout: 30_000,
  });
  await expect(databases.getByRole('row', { name: /mysql/ })).toHaveCount(0);

  // A bad name is answered on its field, and nothing is created.
  await page.getByLabel('Database name').fill('x`; DROP DATABASE orders; --');
  await page.getByRole('button', { name: 'Create database' }).click();
  await expect(
    page.getByText('Database name may contain only ASCII letters, digits, _, $ and -'),
  ).toBeVisible();

  // Users: create one with access to orders; its password is shown with a copy button.
  await page.getByRole('tab', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'No users yet' })).toBeVisible({
    timeout: 30_000,
  });
  await page.getByLabel('User name').fill('orders_app');
  await expect(page.getByLabel('Host')).toHaveValue('%');
  await page.getByRole('group', { name: 'Access to databases' }).getByLabel('orders').check();
  await page.getByRole('button', { name: 'Create user' }).click();
  const notice = page.getByRole('region', { name: 'User orders_app@% created' });
  await expect(notice).toBeVisible({ timeout: 30_000 });
  await notice.getByRole('button', { name: 'Copy password' }).click();
  const password = await page.evaluate(() =>
    (
      globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
    ).navigator.clipboard.readText(),
  );
  registerSecret('a database user password shown once', password);
  await expect(notice.getByLabel('Password of orders_app@%')).toHaveText(password);
  const users = page.getByRole('table', { name: 'Users' });
  const row = users.getByRole('row', { name: /orders_app/ });
  await expect(row.getByRole('list', { name: 'Databases of orders_app@%' })).toHaveText('orders');

  // The user works, and sees exactly what it was granted.
  const port = Number(/-P (\d+)/.exec((await getConnectCommand(page)) ?? '')?.[1]);
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'orders_app',
    password,
    database: 'orders',
  });
  const [rows] = await connection.query('SHOW DATABASES');
  expect((rows as { Database: string }[]).map((r) => r.Database).sort()).toEqual([
    'information_schema',
    'orders',
  ]);
  await connection.end();

  // Delete the user, with confirmation.
  // The password was shown once: leaving the tab took it away.
  await page.getByRole('tab', { name: 'Users' }).click();
  await expect(notice).toHaveCount(0);
  await users.getByRole('button', { name: 'Delete user orders_app@%' }).click();
  const deleteUser = page.getByRole('dialog', { name: 'Delete user orders_app@%?' });
  await deleteUser.getByRole('button', { name: 'Delete user' }).click();
  await expect(page.getByRole('heading', { name: 'No users yet' })).toBeVisible({
    timeout: 30_000,
  });

  // Delete the database, with confirmation.
  await page.getByRole('tab', { name: 'Databases' }).click();
  await databases.getByRole('button', { name: 'Delete database orders' }).click();
  const deleteDatabase = page.getByRole('dialog', { name: 'Delete database orders?' });
  await expect(deleteDatabase).toContainText('cannot be undone');
  await deleteDatabase.getByRole('button', { name: 'Delete database' }).click();
  await expect(page.getByRole('heading', { name: 'No databases yet' })).toBeVisible({
    timeout: 30_000,
  });

  // Root: disabled until asked for; enabled with a password shown once, which works; disabled again, it does not.
  await page.getByRole('tab', { name: 'Root' }).click();
  await expect(page.getByText('Root has never been enabled on this instance.')).toBeVisible();
  await page.getByRole('button', { name: 'Enable root' }).click();
  await page
    .getByRole('dialog', { name: 'Enable root?' })
    .getByRole('button', { name: 'Enable root' })
    .click();
  const rootPassword = await page
    .getByRole('region', { name: 'Root enabled' })
    .getByLabel('Root password')
    .textContent();
  registerSecret('the root password shown once', rootPassword);
  expect(rootPassword).toMatch(/^[A-Za-z0-9]{24}$/);
  const asRoot = await mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: 'root',
    password: rootPassword!,
  });
  await asRoot.end();
  await page.getByRole('button', { name: 'Disable root' }).click();
  await page
    .getByRole('dialog', { name: 'Disable root?' })
    .getByRole('button', { name: 'Disable root' })
    .click();
  await expect(page.getByText(/^Root has been enabled on this instance/)).toBeVisible({
    timeout: 30_000,
  });
  await expect(page.getByRole('region', { name: 'Root enabled' })).toHaveCount(0);
  await expect(
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: rootPassword! }),
  ).rejects.toMatchObject({
    code: expect.stringMatching(/^ER_ACCESS_DENIED/),
  });
});

/** The connection command on the Overview tab (it names the port). */
async function getConnectCommand(page: Page): Promise<string | null> {
  await page.getByRole('tab', { name: 'Overview' }).click();
  return page.getByLabel('Connection command').textContent();
}
