import { expect, test } from '@playwright/test';

import { createProject, holdScripts, signIn, signUp, uniqueEmail } from './helpers';

test('sign up, create a project, see the empty instance list, sign out and back in', async ({
  page,
}) => {
  const email = uniqueEmail('ada');
  const password = 'analytical-engine-1843';

  await signUp(page, { name: 'Ada Lovelace', email, password });
  await createProject(page, 'Analytics');

  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Switch project' })).toContainText('Analytics');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Instances' })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expect(nav.getByRole('link', { name: 'Admin' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Coffer' })).toBeVisible();
  // Signed out: console pages send you back to sign-in.
  await page.goto('/');
  await expect(page).toHaveURL(/\/sign-in$/);

  await signIn(page, { email, password });
  await expect(page.getByRole('heading', { name: 'Instances', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Switch project' })).toContainText('Analytics');
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
});

test('sign-up form shows field errors and creates nothing for bad input', async ({ page }) => {
  await page.goto('/sign-up');
  await page.getByLabel('Name').fill('Bad Input');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Enter a valid email address')).toBeVisible();
  await expect(page.getByText('Password must be at least 10 characters')).toBeVisible();
  await expect(page).toHaveURL(/\/sign-up$/);
});

test('a wrong password is refused with a clear message', async ({ page }) => {
  const email = uniqueEmail('grace');
  await signUp(page, { name: 'Grace', email, password: 'compiler-pioneer-1952' });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, { email, password: 'not-the-password' });
  await expect(
    page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }),
  ).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in$/);
});

test('credentials typed before the sign-in page has hydrated sign in', async ({ page }) => {
  const email = uniqueEmail('early');
  const password = 'typed-before-hydration-1';
  await signUp(page, { name: 'Early Bird', email, password });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Coffer' })).toBeVisible();

  const release = await holdScripts(page);
  await page.goto('/sign-in', { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  release();
  // Submitted once React owns the form (before, the browser would submit it as a plain GET).
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await page.waitForFunction(
    `Object.keys(document.querySelector('form') ?? {}).some((key) => key.startsWith('__reactFiber'))`,
  );
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
});

test('project switcher moves between projects and members can be added by email', async ({
  page,
  browser,
}) => {
  const teammateEmail = uniqueEmail('teammate');
  const teammatePage = await browser.newPage();
  await signUp(teammatePage, {
    name: 'Teammate',
    email: teammateEmail,
    password: 'teammate-password-1',
  });
  await teammatePage.close();

  await signUp(page, { name: 'Owner', email: uniqueEmail('owner'), password: 'owner-password-12' });
  await createProject(page, 'Checkout');
  await page.getByRole('button', { name: 'Switch project' }).click();
  await page.getByRole('menuitem', { name: 'New project' }).click();
  await createProject(page, 'Staging');
  await page.getByRole('button', { name: 'Switch project' }).click();
  await page.getByRole('menuitem', { name: /Checkout/ }).click();
  await expect(page.getByRole('button', { name: 'Switch project' })).toContainText('Checkout');

  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Members' })
    .click();
  await page.getByLabel('Email').fill(teammateEmail);
  await page.getByLabel('Role', { exact: true }).selectOption('VIEWER');
  await page.getByRole('button', { name: 'Add member' }).click();
  const row = page.getByRole('row', { name: new RegExp(teammateEmail) });
  await expect(row).toBeVisible();
  await expect(row.getByRole('combobox')).toHaveValue('VIEWER');
});
