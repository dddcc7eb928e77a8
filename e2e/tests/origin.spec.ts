import { expect, test } from '@playwright/test';

import { createProject, signUp, uniqueEmail } from './helpers';

/**
 * The console runs here as `npm start` runs it (production mode): a request that would act on
 * a signed-in user's behalf from another site (CSRF) is refused, for sign-in (better-auth's
 * check) and for tRPC mutations alike, while the console's own requests work.
 */

const EVIL = 'http://evil.example';

test('a cross-origin sign-in and a cross-origin tRPC mutation are refused; the same requests from the console work', async ({
  page,
  baseURL,
}) => {
  const email = uniqueEmail('csrf');
  const password = 'origin-owner-pw-1';
  await signUp(page, { name: 'Cy', email, password });
  await createProject(page, 'Guarded');
  const projectId = /\/p\/([0-9a-f-]{36})\//.exec(page.url())![1]!;
  const origin = new URL(baseURL!).origin;
  // page.request sends the page's cookies: the session the attacker's page would ride on.
  const api = page.request;

  // Sign-in: refused from another origin (better-auth's Origin check), accepted from the console's.
  const signInFrom = (from: string) =>
    api.post('/api/auth/sign-in/email', {
      headers: { origin: from, 'content-type': 'application/json' },
      data: { email, password },
    });
  const refusedSignIn = await signInFrom(EVIL);
  expect(refusedSignIn.status()).toBe(403);
  expect(await refusedSignIn.json()).toMatchObject({ code: 'INVALID_ORIGIN' });
  expect(refusedSignIn.headers()['set-cookie'] ?? '').not.toContain('session_token');
  const signedIn = await signInFrom(origin);
  expect(signedIn.status()).toBe(200);

  // A tRPC mutation with the session cookie: refused from another origin, nothing created.
  const createTokenNamed = (name: string, from: string) =>
    api.post('/api/trpc/apiToken.create', {
      headers: { origin: from, 'content-type': 'application/json' },
      data: { json: { projectId, name, scope: 'READ_ONLY', expiresInDays: 30 } },
    });
  const listTokens = async () => {
    const response = await api.get(
      `/api/trpc/apiToken.list?input=${encodeURIComponent(JSON.stringify({ json: { projectId } }))}`,
    );
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { result: { data: { json: Array<{ name: string }> } } };
    return body.result.data.json.map((token) => token.name);
  };
  const refused = await createTokenNamed('from-evil', EVIL);
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain('INVALID_ORIGIN');
  // Without any Origin (or Referer), a cookie is not enough either (as better-auth has it).
  const anonymous = await api.post('/api/trpc/apiToken.create', {
    headers: { 'content-type': 'application/json' },
    data: { json: { projectId, name: 'from-nowhere', scope: 'READ_ONLY', expiresInDays: 30 } },
  });
  expect(anonymous.status()).toBe(403);
  expect(await listTokens()).toEqual([]);

  // The same mutation from the console's own origin works.
  const accepted = await createTokenNamed('from-console', origin);
  expect(accepted.status()).toBe(200);
  expect(await listTokens()).toEqual(['from-console']);

  // And the console itself, clicking, still works.
  await page.goto(`/p/${projectId}/settings/tokens`);
  await expect(page.getByRole('row', { name: /from-console/ })).toBeVisible();
});
