import { createHash, randomBytes } from 'node:crypto';

import { createBackupRow } from '@coffer/db/factories';
import { registerSecret } from '@coffer/testing/secrets';
import { expect, test, type Browser, type Page } from '@playwright/test';

import {
  createInstanceFromForm,
  createProject,
  expectActive,
  seedUser,
  signIn,
  useDatabase,
} from './helpers';

/**
 * Every page of the console at a phone's width (390 px) and a laptop's (1366 px), each loaded
 * from scratch (server-rendered, then hydrated): nothing wider than the viewport, nothing one
 * can act on clipped out of reach, and not one error in the browser's console (React's
 * hydration errors included). The instance page's tabs are in its URL. One instance, created
 * from the form, serves every page; its backup and the configuration group are rows.
 */

const prisma = useDatabase();
test.describe.configure({ mode: 'serial' });

const TABS = [
  'Overview',
  'Monitoring',
  'Databases',
  'Users',
  'Root',
  'Network',
  'Replication',
  'Configuration',
  'Backups',
  'Logs',
  'Events',
];

let operator: { email: string; password: string };
let projectPath: string;
let instancePath: string;
let groupPath: string;
/** The pages a signed-out reader sees (an invitation's with a pending invitation's token). */
let signedOutPaths: string[];

test.beforeAll(async ({ browser }, testInfo) => {
  testInfo.setTimeout(180_000);
  // An operator owns the project, so the admin pages are theirs to see as well.
  operator = await seedUser(prisma, 'layout', { isOperator: true });
  const page = await browser.newPage();
  await signIn(page, operator);
  await expect(page.getByRole('heading', { name: 'Create a project' })).toBeVisible();
  await createProject(page, 'Layout');
  projectPath = /\/p\/[0-9a-f-]{36}/.exec(page.url())![0];
  await createInstanceFromForm(page, { name: 'layout-db', database: 'shop', user: 'shop_app' });
  await expectActive(page, 'layout-db');
  instancePath = new URL(page.url()).pathname;
  const instance = await prisma.instance.findFirstOrThrow({
    where: { id: instancePath.split('/').at(-1)!, deletedAt: null },
  });
  await createBackupRow(prisma, instance, {
    name: 'nightly-full-with-a-long-name',
    status: 'COMPLETED',
    progress: 100,
    sizeBytes: 123_456_789n,
    rawSizeBytes: 987_654_321n,
    manifestSha256: 'a'.repeat(64),
    startedAt: new Date(Date.now() - 61_000),
    finishedAt: new Date(),
  });
  const group = await prisma.configurationGroup.create({
    data: {
      projectId: instance.projectId,
      name: 'layout-tuning',
      description: 'A group with a value',
      datastoreVersionId: instance.datastoreVersionId,
      values: { max_connections: 120 },
    },
  });
  groupPath = `${projectPath}/configuration/${group.id}`;
  // A pending invitation: a row on the Members page, and its link's page.
  const invitationToken = randomBytes(32).toString('base64url');
  registerSecret('the invitation token of responsive.spec.ts', invitationToken);
  await prisma.invitation.create({
    data: {
      projectId: instance.projectId,
      email: 'a-teammate-with-a-rather-long-address@example.com',
      role: 'MEMBER',
      tokenHash: createHash('sha256').update(invitationToken).digest('hex'),
      expiresAt: new Date(Date.now() + 86_400_000),
    },
  });
  signedOutPaths = [
    '/sign-in',
    '/sign-up',
    '/forgot-password',
    '/reset-password?token=not-a-real-token',
    `/invite/${invitationToken}`,
  ];
  await page.close();
});

/** Errors the page's browser reports: uncaught exceptions and console messages of type error. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  return errors;
}

/** A signed-in page of `width` in a time zone other than the server's (UTC), as most readers are. */
async function signedInPage(browser: Browser, width: number, timezoneId: string) {
  const context = await browser.newContext({
    viewport: { width, height: 800 },
    timezoneId,
    locale: 'en-US',
  });
  const page = await context.newPage();
  await signIn(page, operator);
  await expect(page.getByRole('heading', { name: 'Instances', exact: true })).toBeVisible();
  return { page, errors: watchErrors(page) };
}

/**
 * Waits until the page has hydrated (React owns its main element) and shows a heading with
 * nothing loading.
 */
async function settled(page: Page) {
  await page.waitForFunction(
    `Object.keys(document.querySelector('main') ?? {}).some((key) => key.startsWith('__reactFiber'))`,
  );
  await expect(page.getByRole('heading').first()).toBeVisible();
  await expect(page.getByText(/^Loading/)).toHaveCount(0);
}

/**
 * What does not fit: the page wider than the viewport, and each link, button, field or tab
 * whose box is cut off entirely, by the viewport or by an ancestor that hides overflow, with no
 * ancestor scrolling sideways to bring it in.
 */
async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const problems = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth)
      problems.push('the page is ' + root.scrollWidth + ' px wide in a ' + root.clientWidth + ' px viewport');
    const controls = document.querySelectorAll('a[href], button, input, select, textarea, [role="tab"]');
    for (const element of controls) {
      const rect = element.getBoundingClientRect();
      if (rect.width < 2 || rect.height < 2) continue;
      let left = rect.left;
      let right = rect.right;
      let scrolls = false;
      for (let node = element.parentElement; node && node !== root; node = node.parentElement) {
        const overflow = getComputedStyle(node).overflowX;
        if (overflow === 'auto' || overflow === 'scroll') {
          scrolls = true;
          break;
        }
        if (overflow === 'hidden' || overflow === 'clip') {
          const box = node.getBoundingClientRect();
          left = Math.max(left, box.left);
          right = Math.min(right, box.right);
        }
      }
      if (!scrolls) {
        left = Math.max(left, 0);
        right = Math.min(right, root.clientWidth);
      }
      if (right - left < 2) {
        const name = (element.getAttribute('aria-label') || element.textContent || element.tagName).trim().slice(0, 40);
        problems.push('"' + name + '" is out of reach (' + Math.round(rect.left) + '..' + Math.round(rect.right) + ' px)');
      }
    }
    return problems;
  })()`);
}

/** Loads `path` from scratch and checks it: it fits, everything is in reach, no errors. */
async function visit(page: Page, errors: string[], path: string) {
  await page.goto(path);
  await settled(page);
  // Soft: a run reports every page that fails, not the first only.
  expect
    .soft(await layoutProblems(page), `${path} at ${page.viewportSize()!.width} px`)
    .toEqual([]);
  expect.soft(errors.splice(0), `the browser's errors on ${path}`).toEqual([]);
}

/** Every page of the console, with the instance page once per tab (as a link or a reload opens it). */
async function consolePages(page: Page): Promise<string[]> {
  const mainNav = await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link')
    .evaluateAll((links) => links.map((link) => link.getAttribute('href')!));
  const listed = [
    `${projectPath}/instances`,
    `${projectPath}/instances/new`,
    ...TABS.map((tab) =>
      tab === 'Overview' ? instancePath : `${instancePath}?tab=${tab.toLowerCase()}`,
    ),
    `${projectPath}/backups`,
    `${projectPath}/events`,
    `${projectPath}/configuration`,
    `${projectPath}/configuration/new`,
    groupPath,
    `${projectPath}/members`,
    `${projectPath}/settings`,
    `${projectPath}/settings/tokens`,
    `${projectPath}/settings/audit`,
    '/projects/new',
    '/admin',
    '/admin/queue',
    '/admin/projects',
    '/admin/flavors',
    '/admin/audit',
  ];
  // Pages the navigation gains later are checked too.
  return [...new Set([...listed, ...mainNav])];
}

test('at 390 px every page fits, every tab and action can be reached, and nothing errs', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { page, errors } = await signedInPage(browser, 390, 'Pacific/Auckland');
  for (const path of await consolePages(page)) await visit(page, errors, path);

  // On the instance page every tab can be tapped (the list scrolls sideways) and lands in view.
  await visit(page, errors, instancePath);
  for (const name of TABS) {
    const tab = page.getByRole('tab', { name });
    await tab.click();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(tab).toBeInViewport({ ratio: 0.95 }); // all of it, to the subpixel
    expect(await layoutProblems(page), `the ${name} tab at 390 px`).toEqual([]);
  }
  // The header's actions wrap below the name instead of leaving the screen.
  for (const name of ['Restart', 'Delete']) {
    const button = page.getByRole('button', { name, exact: true });
    await button.scrollIntoViewIfNeeded();
    await expect(button).toBeInViewport({ ratio: 0.95 });
  }
  // The backups table scrolls inside its card; its Restore can be reached.
  await page.getByRole('tab', { name: 'Backups' }).click();
  await page
    .getByRole('button', { name: 'Restore nightly-full-with-a-long-name' })
    .click({ trial: true });
  expect(errors).toEqual([]);

  // Signed out: sign-in, sign-up, password reset, an invitation.
  const signedOut = await browser.newPage({ viewport: { width: 390, height: 800 } });
  const signedOutErrors = watchErrors(signedOut);
  for (const path of signedOutPaths) await visit(signedOut, signedOutErrors, path);
  await signedOut.close();
  await page.context().close();
});

test('at 1366 px every page fits and nothing errs; the backups tables show Restore without scrolling; the chosen tab is in the URL', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { page, errors } = await signedInPage(browser, 1366, 'America/New_York');
  for (const path of await consolePages(page)) await visit(page, errors, path);

  // The backups tables fit their cards: Restore is in view without scrolling them.
  for (const path of [`${instancePath}?tab=backups`, `${projectPath}/backups`]) {
    await visit(page, errors, path);
    const table = page.getByRole('table', { name: 'Backups' });
    const overflow = await table.evaluate(
      (element) => element.parentElement!.scrollWidth - element.parentElement!.clientWidth,
    );
    expect(overflow, `the backups table on ${path} overflows its card by ${overflow} px`).toBe(0);
  }

  // The chosen tab is in the URL: kept by a reload, followed by Back and Forward.
  await visit(page, errors, instancePath);
  const tab = (name: string) => page.getByRole('tab', { name });
  await tab('Backups').click();
  await expect(page).toHaveURL(/\?tab=backups$/);
  await expect(page.getByRole('tabpanel')).toContainText('nightly-full-with-a-long-name');
  await page.reload();
  await settled(page);
  await expect(tab('Backups')).toHaveAttribute('aria-selected', 'true');
  await tab('Network').click();
  await expect(page).toHaveURL(/\?tab=network$/);
  await page.goBack();
  await expect(tab('Backups')).toHaveAttribute('aria-selected', 'true');
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`${instancePath}$`));
  await expect(tab('Overview')).toHaveAttribute('aria-selected', 'true');
  await page.goForward();
  await expect(tab('Backups')).toHaveAttribute('aria-selected', 'true');
  // A tab that does not exist shows the Overview.
  await visit(page, errors, `${instancePath}?tab=nonsense`);
  await expect(tab('Overview')).toHaveAttribute('aria-selected', 'true');
  expect(errors).toEqual([]);
  await page.context().close();

  const signedOut = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  const signedOutErrors = watchErrors(signedOut);
  for (const path of signedOutPaths) await visit(signedOut, signedOutErrors, path);
  await signedOut.close();
});
