import { expect, test, type Page } from '@playwright/test';
import mysql from 'mysql2/promise';

import {
  createInstanceFromForm,
  createProject,
  expectActive,
  signUp,
  uniqueEmail,
} from './helpers';

interface Browser {
  navigator: { clipboard: { readText(): Promise<string> } };
  document: { body: unknown };
  getComputedStyle(element: unknown): { backgroundColor: string; color: string };
}

const readClipboard = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as Browser).navigator.clipboard.readText());

/** Lightness from 0 (black) to 1 (white) of a computed colour: `rgb()`, `lab()`/`lch()` or `oklab()`/`oklch()`. */
function lightnessOf(color: string): number {
  const lab = /^(ok)?(?:lab|lch)\(([\d.]+)(%?)/.exec(color);
  if (lab) return Number(lab[2]) / (lab[3] || !lab[1] ? 100 : 1);
  const rgb = /^rgba?\((\d+),? (\d+),? (\d+)/.exec(color);
  expect(rgb, color).not.toBeNull();
  const [r, g, b] = rgb!.slice(1).map(Number) as [number, number, number];
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

async function pageColors(page: Page) {
  const { backgroundColor, color } = await page.evaluate(() => {
    const browser = globalThis as unknown as Browser;
    const style = browser.getComputedStyle(browser.document.body);
    return { backgroundColor: style.backgroundColor, color: style.color };
  });
  return { background: lightnessOf(backgroundColor), text: lightnessOf(color) };
}

test('the Connect panel: pick a database and a user, copy the URI and the command (no password), connect with them; dark mode; the skip link', async ({
  page,
  context,
}) => {
  test.setTimeout(120_000);
  await signUp(page, { name: 'Ada', email: uniqueEmail('ada'), password: 'connect-owner-pw-1' });
  await createProject(page, 'Ledger');
  const password = (await createInstanceFromForm(page, {
    name: 'ledger-db',
    database: 'ledger',
    user: 'ledger_app',
  }))!;
  await expectActive(page, 'ledger-db');

  // Connect (Overview): the user's database is chosen once the lists are read; None drops it.
  const command = page.getByLabel('Connection command');
  const databasePicker = page.getByLabel('Database', { exact: true });
  await expect(command).toHaveText(/ -u ledger_app -p ledger$/);
  await databasePicker.selectOption('');
  await expect(command).toHaveText(/ -u ledger_app -p$/);
  await databasePicker.selectOption('ledger');
  await page.getByLabel('User', { exact: true }).selectOption('ledger_app');

  // The command: its host, port, user and database work with the password the form generated.
  await page.getByRole('button', { name: 'Copy command' }).click();
  const copiedCommand = await readClipboard(page);
  const cli = /^mariadb -h (\S+) -P (\d+) -u (\S+) -p (\S+)$/.exec(copiedCommand);
  expect(cli, copiedCommand).not.toBeNull();
  const [host, port, user, database] = cli!.slice(1) as [string, string, string, string];
  expect([user, database]).toEqual(['ledger_app', 'ledger']);
  expect(copiedCommand).not.toContain(password);
  const connection = await mysql.createConnection({
    host,
    port: Number(port),
    user,
    password,
    database,
  });
  const [rows] = await connection.query('SELECT 1 AS one, DATABASE() AS db');
  expect(rows).toEqual([{ one: 1, db: 'ledger' }]);
  await connection.end();

  // The URI: the same address, a placeholder where the password goes.
  const format = page.getByLabel('Format');
  await format.selectOption({ label: 'URI' });
  await page.getByRole('button', { name: 'Copy URI' }).click();
  const uri = await readClipboard(page);
  expect(uri).toBe(`mysql://ledger_app:YOUR_PASSWORD@${host}:${port}/ledger`);

  // Every other format names the address and the database, never the password.
  for (const [label, name, expected] of [
    ['JDBC URL', 'JDBC URL', `jdbc:mariadb://${host}:${port}/ledger?user=ledger_app`],
    ['Environment variables', 'Environment variables', `MYSQL_DATABASE=ledger`],
    ['Node.js (mysql2)', 'Node.js snippet', `database: "ledger"`],
    ['Python (PyMySQL)', 'Python snippet', `database="ledger"`],
    ['Go (go-sql-driver)', 'Go snippet', `cfg.Addr = "${host}:${port}"`],
  ] as const) {
    await format.selectOption({ label });
    const shown = page.getByLabel(name, { exact: true });
    await expect(shown).toContainText(expected);
    const text = (await shown.textContent()) ?? '';
    expect(text).toContain(host);
    expect(text).toContain(port);
    expect(text).toContain('ledger');
    expect(text).not.toContain(password);
  }

  // Dark mode follows the system setting: light page with dark text, then the reverse.
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await pageColors(page);
  expect(light.background).toBeGreaterThan(0.9);
  expect(light.text).toBeLessThan(0.3);
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await pageColors(page);
  expect(dark.background).toBeLessThan(0.2);
  expect(dark.text).toBeGreaterThan(0.9);

  // A fresh page: Tab reaches "Skip to content" first (shown only then); Enter moves to main.
  const fresh = await context.newPage();
  await fresh.goto(page.url());
  await expect(fresh.getByRole('heading', { name: /ledger-db/ })).toBeVisible();
  const skip = fresh.getByRole('link', { name: 'Skip to content' });
  expect((await skip.boundingBox())?.width).toBeLessThanOrEqual(1);
  await fresh.keyboard.press('Tab');
  await expect(skip).toBeFocused();
  expect((await skip.boundingBox())?.width).toBeGreaterThan(40);
  await fresh.keyboard.press('Enter');
  await expect(fresh.getByRole('main')).toBeFocused();
  await fresh.close();
});
