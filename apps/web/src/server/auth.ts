import 'server-only';

import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { nextCookies } from 'better-auth/next-js';

import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '~/lib/auth-rules';
import { signUpSchema } from '~/lib/schemas';
import { env } from '~/env';
import { db } from './db';

/**
 * Sign-in with better-auth: email and password (hashed with scrypt by the library), sessions
 * in PostgreSQL, HTTP-only cookies. Nothing here is hand-rolled crypto.
 */
export const auth = betterAuth({
  appName: 'Coffer',
  baseURL: env.BETTER_AUTH_URL,
  secret: env.BETTER_AUTH_SECRET,
  database: prismaAdapter(db, { provider: 'postgresql' }),
  emailAndPassword: {
    enabled: true,
    minPasswordLength: MIN_PASSWORD_LENGTH,
    maxPasswordLength: MAX_PASSWORD_LENGTH,
    autoSignIn: true,
  },
  session: {
    expiresIn: 60 * 60 * 24 * 7,
    updateAge: 60 * 60 * 24,
  },
  rateLimit: {
    enabled: env.NODE_ENV === 'production',
    window: 60,
    max: 100,
    customRules: {
      '/sign-in/email': { window: 60, max: 10 },
      '/sign-up/email': { window: 60, max: 10 },
    },
  },
  hooks: {
    // The library checks email and password length; this also checks the name and answers
    // with the same messages as the form, before anything is written.
    before: createAuthMiddleware(async (ctx) => {
      if (ctx.path !== '/sign-up/email') return;
      const parsed = signUpSchema.safeParse(ctx.body);
      if (!parsed.success) {
        throw new APIError('BAD_REQUEST', {
          message: parsed.error.issues.map((issue) => issue.message).join('; '),
          code: 'INVALID_SIGN_UP',
        });
      }
    }),
  },
  telemetry: { enabled: false },
  plugins: [nextCookies()],
});

export type Session = typeof auth.$Infer.Session;
