import { makeOperator } from '@coffer/db/factories';
import { expect, test, type Locator } from '@playwright/test';
import mysql from 'mysql2/promise';

import { createProject, createShopInstance, signUp, uniqueEmail, useDatabase } from './helpers';

/**
 * Monitoring (issue 16 parts 2 and 5): an instance's charts follow a load live, Admin lists it
 * among the busiest while the load runs, connections near max_connections raise a warning on
 * the instance, in the project's list and in its "Needs attention", and the list shows the
 * instance's sparkline.
 */

const prisma = useDatabase();

/** A figure caption's value for a series ("Queries 1.2 k/s" → 1200), null while none. */
async function latestOf(chart: Locator, label: string): Promise<number | null> {
  const caption = (await chart.locator('figcaption').textContent()) ?? '';
  const match = new RegExp(`${label} ([\\d.]+)( k| M)?`).exec(caption);
  if (!match) return null;
  const scale = match[2] === ' k' ? 1_000 : match[2] === ' M' ? 1_000_000 : 1;
  return Number(match[1]) * scale;
}

async function pointsOf(chart: Locator): Promise<number> {
  return Number(await chart.getAttribute('data-points'));
}

test('charts follow a load live; the busiest in Admin; warnings near max_connections; the sparkline in the list', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const email = uniqueEmail('ada');
  await signUp(page, { name: 'Ada', email, password: 'monitoring-owner-pw-1' });
  await createProject(page, 'Telemetry');
  const { address, password, connection } = await createShopInstance(page);
  const instanceId = /\/instances\/([0-9a-f-]{36})/.exec(page.url())![1]!;
  const extra: mysql.Connection[] = [];
  let isLoading = false;
  try {
    await page.getByRole('tab', { name: 'Monitoring' }).click();
    await expect(page.getByRole('group', { name: 'Time range' })).toBeVisible();
    const queries = page.getByRole('figure', { name: 'Queries per second' });
    await expect(queries).toBeVisible({ timeout: 30_000 });
    await expect(page.getByRole('figure', { name: 'CPU' })).toBeVisible();
    await expect(page.getByRole('figure', { name: 'Volume' })).toBeVisible();
    // Not a replica: no lag chart.
    await expect(page.getByRole('figure', { name: 'Replication lag' })).toHaveCount(0);

    // Idle: the guest's own sampling only. Once a rate is known, it is low.
    await expect.poll(() => latestOf(queries, 'Queries'), { timeout: 30_000 }).not.toBeNull();
    expect(await latestOf(queries, 'Queries')).toBeLessThan(100);
    const pointsBefore = await pointsOf(queries);

    // A load: statements as fast as one connection sends them, until the chart shows it.
    isLoading = true;
    const load = (async () => {
      await connection.query('CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME)');
      while (isLoading) {
        await connection.query('INSERT INTO hits (at) VALUES (NOW())');
        await connection.query('SELECT COUNT(*) FROM hits');
      }
    })();
    try {
      await expect
        .poll(() => latestOf(queries, 'Queries'), { timeout: 45_000 })
        .toBeGreaterThan(100);
      // The charts follow without a reload: new points arrive (a point is a bucket of up to
      // a few samples: the newest may only have been updated so far).
      await expect.poll(() => pointsOf(queries), { timeout: 30_000 }).toBeGreaterThan(pointsBefore);
      const rows = page.getByRole('figure', { name: 'Rows per second' });
      await expect.poll(() => latestOf(rows, 'Written'), { timeout: 30_000 }).toBeGreaterThan(10);

      // Admin (once Ada is an operator), while the load runs: the instance among the busiest
      // across projects, with its project.
      const user = await prisma.user.findUniqueOrThrow({ where: { email } });
      await makeOperator(prisma, { userId: user.id });
      const admin = await page.context().newPage();
      await admin.goto('/admin');
      const busiest = admin.getByRole('table', { name: 'Busiest instances' });
      await expect(busiest.locator(`tr[data-instance-id="${instanceId}"]`)).toContainText(
        /shop-db\s*Telemetry/,
      );
      await admin.close();
    } finally {
      isLoading = false;
      await load;
    }

    // No warning yet.
    const header = page.getByRole('heading', { name: /shop-db/ });
    await expect(header.getByLabel(/Needs attention/)).toHaveCount(0);

    // Connections past 90 % of max_connections: the instance warns, live.
    const connectionsChart = page.getByRole('figure', { name: 'Connections' });
    await expect.poll(() => latestOf(connectionsChart, 'max_connections')).not.toBeNull();
    const maxConnections = (await latestOf(connectionsChart, 'max_connections'))!;
    const wanted = Math.ceil(maxConnections * 0.9) + 1;
    while (extra.length + 1 < wanted) {
      extra.push(
        await mysql.createConnection({ ...address, user: 'shop_app', password, database: 'shop' }),
      );
    }
    await expect(header.getByLabel(/Needs attention: .*connections/i)).toBeVisible({
      timeout: 30_000,
    });

    // The project's list: the sparkline per instance, and the instance under "Needs attention".
    await page.getByRole('link', { name: 'Instances', exact: true }).first().click();
    const row = page.locator(`tr[data-instance-id="${instanceId}"]`);
    await expect(row.getByRole('img', { name: /Last hour: CPU .*connections/ })).toBeVisible();
    expect(
      Number(await row.getByRole('img', { name: /Last hour/ }).getAttribute('data-points')),
    ).toBeGreaterThan(0);
    await expect(row.getByLabel(/Needs attention/)).toBeVisible();
    const attention = page.getByRole('region', { name: 'Needs attention' });
    await expect(attention).toContainText('shop-db');
    await expect(attention).toContainText(/connections/i);

    // Fewer connections: the warning goes.
    await Promise.all(extra.splice(0).map((client) => client.end()));
    await expect(attention).toHaveCount(0, { timeout: 30_000 });
  } finally {
    isLoading = false;
    await Promise.all(extra.map((client) => client.end().catch(() => undefined)));
    await connection.end();
  }
});
