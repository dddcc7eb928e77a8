import 'server-only';

import { findUnsafeInput } from '@coffer/contracts';
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { nextCookies } from 'better-auth/next-js';

import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '~/lib/auth-rules';
import { signUpSchema } from '~/lib/schemas';
import { env } from '~/env';
import { db } from './db';
import { logger } from './logger';
import { consoleLink, getMailer } from './mail/mailer';
import { consumeRateLimit, describeRetryAfter } from './rate-limit';
import { getRedis } from './redis';
import { recordAuthEvent } from './services/audit/record-audit-event';

const signInRule = {
  max: env.COFFER_SIGN_IN_RATE_LIMIT_MAX,
  windowSeconds: env.COFFER_SIGN_IN_RATE_LIMIT_WINDOW_SECONDS,
};

/**
 * Attempts on one account, from whatever addresses (many addresses guessing one account's
 * password pass the per-address limit).
 */
async function limitSignInsToAccount(body: unknown, kind = 'sign-in'): Promise<void> {
  const email = (body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string' || signInRule.max <= 0) return;
  const decision = await consumeRateLimit(
    getRedis(),
    `${kind}-account:${email.trim().toLowerCase()}`,
    signInRule,
  );
  if (decision.isAllowed) return;
  throw new APIError(
    'TOO_MANY_REQUESTS',
    {
      message: `Too many ${kind} attempts for this account. Try again in ${describeRetryAfter(decision.retryAfterSeconds)}.`,
      code: 'RATE_LIMITED',
    },
    {
      'X-Retry-After': String(decision.retryAfterSeconds),
      'Retry-After': String(decision.retryAfterSeconds),
    },
  );
}

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
    // Password reset by mail (docs/configuration.md): the link's token lives an hour, works
    // once, is stored hashed (verification.storeIdentifier), and a reset signs every session
    // out. The answer is the same whether or not the email has an account, and the mail goes
    // out after the answer, so its timing tells nothing either.
    resetPasswordTokenExpiresIn: 60 * 60,
    revokeSessionsOnPasswordReset: true,
    sendResetPassword: async ({ user, token }) => {
      const log = logger.child({ userId: user.id });
      void recordAuthEvent(db, log, { user, path: 'auth.requestPasswordReset' });
      const mailer = getMailer();
      if (!mailer) {
        log.warn('password reset requested, but no SMTP server is configured (COFFER_SMTP_URL)');
        return;
      }
      const link = consoleLink(`/reset-password?token=${encodeURIComponent(token)}`);
      mailer
        .send({
          to: user.email,
          subject: 'Reset your Coffer password',
          text: [
            `Someone (hopefully you) asked to reset the password of ${user.email} on Coffer.`,
            '',
            'Choose a new password here (the link works once, for one hour):',
            link,
            '',
            'If you did not ask for this, ignore this mail: your password stays as it is.',
          ].join('\n'),
        })
        .catch((error: Error & { code?: string }) =>
          // The reason, never the message (it holds the link).
          log.warn(
            { err: { message: error.message, code: error.code } },
            'password reset: the mail could not be sent',
          ),
        );
    },
    onPasswordReset: async ({ user }) => {
      await recordAuthEvent(db, logger.child({ userId: user.id }), {
        user,
        path: 'auth.resetPassword',
      });
    },
  },
  // Verification tokens (the password reset's) are stored as their SHA-256, never in clear.
  verification: { storeIdentifier: 'hashed' },
  session: {
    expiresIn: 60 * 60 * 24 * 7,
    updateAge: 60 * 60 * 24,
  },
  // Sign-in and sign-up attempts are limited per client address (better-auth's limiter, with
  // its counters in Redis so every web process shares them) and, below, per account.
  rateLimit: {
    enabled: signInRule.max > 0,
    window: signInRule.windowSeconds,
    max: Math.max(100, signInRule.max * 10),
    customRules: {
      '/sign-in/email': { window: signInRule.windowSeconds, max: signInRule.max },
      '/sign-up/email': { window: signInRule.windowSeconds, max: signInRule.max },
      '/request-password-reset': { window: signInRule.windowSeconds, max: signInRule.max },
      '/reset-password': { window: signInRule.windowSeconds, max: signInRule.max },
    },
    customStorage: {
      consume: async (key, rule) => {
        const decision = await consumeRateLimit(getRedis(), `auth:${key}`, {
          max: rule.max,
          windowSeconds: rule.window,
        });
        return {
          allowed: decision.isAllowed,
          retryAfter: decision.isAllowed ? null : decision.retryAfterSeconds,
        };
      },
    },
  },
  hooks: {
    before: createAuthMiddleware(async (ctx) => {
      // Every string of every request, as for the API: no NUL or invalid Unicode reaches the database.
      const unsafe = findUnsafeInput(ctx.body) ?? findUnsafeInput(ctx.query);
      if (unsafe)
        throw new APIError('BAD_REQUEST', { message: unsafe.message, code: 'INVALID_INPUT' });
      if (ctx.path === '/sign-in/email') {
        await limitSignInsToAccount(ctx.body);
        return;
      }
      // Reset mails to one address, whichever addresses ask (whether it has an account or not).
      if (ctx.path === '/request-password-reset') {
        await limitSignInsToAccount(ctx.body, 'password-reset');
        return;
      }
      if (ctx.path !== '/sign-up/email') return;
      // The library checks email and password length; this also checks the name and answers
      // with the same messages as the form, before anything is written.
      const parsed = signUpSchema.safeParse(ctx.body);
      if (!parsed.success) {
        throw new APIError('BAD_REQUEST', {
          message: parsed.error.issues.map((issue) => issue.message).join('; '),
          code: 'INVALID_SIGN_UP',
        });
      }
    }),
  },
  // The client's address is the one X-Forwarded-For the console's server leaves (it replaces
  // whatever a client sent: src/server/http/client-address.ts, COFFER_TRUSTED_PROXIES).
  advanced: { ipAddress: { ipAddressHeaders: ['x-forwarded-for'] } },
  telemetry: { enabled: false },
  plugins: [nextCookies()],
});

export type Session = typeof auth.$Infer.Session;
