import { randomUUID } from 'node:crypto';

import { createPrismaClient } from '@coffer/db';
import { createUserWithPassword, makeOperator } from '@coffer/db/factories';
import { registerSecret } from '@coffer/testing/secrets';
import { expect, test, type Page } from '@playwright/test';
import mysql from 'mysql2/promise';

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

/**
 * Holds the console's scripts (routing also turns the HTTP cache off) until `release` is called:
 * what a user on a slow link sees, the server's HTML before the page has hydrated.
 */
export async function holdScripts(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(
    (url) => url.pathname.startsWith('/_next/static/') && url.pathname.endsWith('.js'),
    async (route) => {
      await released;
      await route.continue();
    },
  );
  return release;
}

/** Signs up through the form; lands on "create your first project". */
export async function signUp(
  page: Page,
  { name, email, password }: { name: string; email: string; password: string },
) {
  registerSecret(`the console password of ${email}`, password);
  await page.goto('/sign-up');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
}

export async function signIn(page: Page, { email, password }: { email: string; password: string }) {
  registerSecret(`the console password of ${email}`, password);
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function createProject(page: Page, name: string) {
  await page.getByLabel('Project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByRole('heading', { name: 'Instances', exact: true })).toBeVisible();
}

/** The instance's address, read from its connection command on the Overview tab. */
export async function addressOf(page: Page): Promise<{ host: string; port: number }> {
  await page.getByRole('tab', { name: 'Overview' }).click();
  const command = (await page.getByLabel('Connection command').textContent()) ?? '';
  const match = /-h (\S+) -P (\d+)/.exec(command);
  expect(match, command).not.toBeNull();
  return { host: match![1]!, port: Number(match![2]) };
}

/**
 * Fills the Create instance form (from the project's Instances page) with a first database
 * and user (none where they are empty) and submits it; answers the password the browser
 * generated for the user.
 */
export async function createInstanceFromForm(
  page: Page,
  { name, database, user }: { name: string; database: string; user: string },
): Promise<string | null> {
  await page.getByRole('link', { name: 'Create instance' }).click();
  await expect(page.getByRole('heading', { name: 'Create instance' })).toBeVisible();
  await page.getByLabel('Instance name').fill(name);
  await page.getByLabel('Database name').fill(database);
  await page.getByLabel('User name').fill(user);
  let password: string | null = null;
  if (user) {
    password = await page.getByRole('textbox', { name: 'Password' }).inputValue();
    registerSecret('a database user password generated in the browser', password);
  }
  await page.getByRole('button', { name: 'Create instance' }).click();
  return password;
}

/** The status in the heading of the instance's page. */
export function statusOf(page: Page, name: string) {
  return page.getByRole('heading', { name: new RegExp(name) }).locator('[data-status]');
}

/** Waits on the instance's page until it shows ACTIVE. */
export async function expectActive(page: Page, name: string, timeout = 90_000) {
  await expect(statusOf(page, name)).toHaveAttribute('data-status', 'ACTIVE', { timeout });
}

/**
 * The start of a test on an empty instance: a new owner `owner` signs up, makes `project`, and
 * creates `instance` from the form without a first database or user; it is ACTIVE.
 */
export async function ownerWithEmptyInstance(
  page: Page,
  {
    owner,
    password,
    project,
    instance,
  }: Record<'owner' | 'password' | 'project' | 'instance', string>,
) {
  await signUp(page, { name: owner, email: uniqueEmail(owner.toLowerCase()), password });
  await createProject(page, project);
  await createInstanceFromForm(page, { name: instance, database: '', user: '' });
  await expectActive(page, instance);
}

/** A client of the run's database (to seed rows and read them back), closed after the file's tests. */
export function useDatabase() {
  const prisma = createPrismaClient({
    url: process.env.DATABASE_URL!,
    maxConnections: 2,
    applicationName: 'coffer-e2e',
  });
  test.afterAll(async () => {
    await prisma.$disconnect();
  });
  return prisma;
}

/** A user seeded through the factories (an operator if asked), with the password to sign in. */
export async function seedUser(
  prisma: ReturnType<typeof useDatabase>,
  label: string,
  { isOperator = false } = {},
) {
  const email = uniqueEmail(label);
  const password = `${label}-password-${randomUUID().slice(0, 6)}`;
  const user = await createUserWithPassword(prisma, { email, name: label, password });
  if (isOperator) await makeOperator(prisma, { userId: user.id });
  return { id: user.id, email, password };
}

/**
 * The instance the data tests start from: "shop-db" created from the form with a database
 * "shop" and its user "shop_app", ACTIVE; its address, the user's password, and a connection
 * as that user.
 */
export async function createShopInstance(page: Page) {
  const password = (await createInstanceFromForm(page, {
    name: 'shop-db',
    database: 'shop',
    user: 'shop_app',
  }))!;
  await expectActive(page, 'shop-db');
  const address = await addressOf(page);
  const connection = await mysql.createConnection({
    ...address,
    user: 'shop_app',
    password,
    database: 'shop',
  });
  return { password, address, connection };
}
