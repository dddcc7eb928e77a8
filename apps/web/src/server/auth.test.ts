import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type * as AuthModuleNs from '~/server/auth';
import { createHarness, type Harness } from '~/test/harness';

type AuthModule = typeof AuthModuleNs;

let h: Harness;
let auth: AuthModule['auth'];
beforeAll(async () => {
  h = await createHarness();
  ({ auth } = await import('~/server/auth'));
});
afterAll(async () => {
  await h?.close();
});

describe('sign-up, sign-in and sign-out (better-auth over the real database)', () => {
  it('signs up with a hashed password, signs in, and signs out', async () => {
    const email = `ada-${Date.now()}@example.com`;
    const signUp = await auth.api.signUpEmail({
      body: { name: 'Ada', email, password: 'analytical-engine-1843' },
    });
    expect(signUp.user.email).toBe(email);
    const account = await h.prisma.account.findFirst({
      where: { userId: signUp.user.id, providerId: 'credential' },
    });
    expect(account?.password).toBeTruthy();
    expect(account?.password).not.toContain('analytical-engine-1843');

    const signIn = await auth.api.signInEmail({
      body: { email, password: 'analytical-engine-1843' },
      asResponse: true,
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('session_token');
    const headers = new Headers({ cookie: cookie.split(';')[0]! });
    const session = await auth.api.getSession({ headers });
    expect(session?.user.email).toBe(email);

    await auth.api.signOut({ headers });
    expect(await auth.api.getSession({ headers })).toBeNull();
  });

  it('refuses a wrong password', async () => {
    const user = await h.createUser('grace');
    await expect(
      auth.api.signInEmail({ body: { email: user.email, password: 'wrong-password-123' } }),
    ).rejects.toMatchObject({
      status: 'UNAUTHORIZED',
    });
  });

  it('rejects an invalid email, a short password and an empty name, writing nothing', async () => {
    const before = await h.prisma.user.count();
    const cases = [
      { name: 'X', email: 'not-an-email', password: 'long-enough-password' },
      { name: 'X', email: `short-${Date.now()}@example.com`, password: 'short' },
      { name: '', email: `noname-${Date.now()}@example.com`, password: 'long-enough-password' },
    ];
    for (const body of cases) {
      await expect(auth.api.signUpEmail({ body })).rejects.toMatchObject({ status: 'BAD_REQUEST' });
    }
    expect(await h.prisma.user.count()).toBe(before);
  });
});
