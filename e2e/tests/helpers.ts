import { randomUUID } from 'node:crypto';

import { registerSecret } from '@coffer/testing/secrets';
import { expect, type Page } from '@playwright/test';

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
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
