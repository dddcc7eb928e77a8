// Sets a new sign-in password for a user (an operator locked out, or anyone when Coffer has
// no SMTP server to mail a reset link): prints it once on stdout, stores only its hash, ends
// every session the user had, and records it in the audit log. Whoever can run this holds the
// deployment's database; `npm run reset-password -- <email>` runs it against the embedded one.
//
//   DATABASE_URL=... node --import tsx packages/db/scripts/reset-password.ts <email>
import { z } from 'zod';

import {
  NoSuchUserError,
  newSignInPassword,
  resetSignInPassword,
} from '../src/domain/sign-in-password';
import { getDatabaseUrl } from '../src/env';
import { createPrismaClient } from '../src/index';

async function main(args: string[]): Promise<string[]> {
  const email = z.email().safeParse(args[0]?.trim() ?? '');
  if (args.length !== 1 || !email.success) {
    throw new UsageError('usage: reset-password <email>  (the email a user signs in with)');
  }
  const prisma = createPrismaClient({
    url: getDatabaseUrl(),
    maxConnections: 1,
    applicationName: 'coffer-reset-password',
  });
  try {
    const { password, hash } = await newSignInPassword();
    const { sessionsEnded } = await resetSignInPassword(prisma, { email: email.data, hash });
    return [
      `New password for ${email.data.toLowerCase()}:`,
      `  password: ${password}`,
      `This password is shown only this once and stored only as a hash; ${sessionsEnded} session(s) signed out.`,
    ];
  } finally {
    await prisma.$disconnect();
  }
}

class UsageError extends Error {}

try {
  const lines = await main(process.argv.slice(2));
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (error) {
  const known = error instanceof NoSuchUserError || error instanceof UsageError;
  process.stderr.write(
    `reset-password failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = known ? 2 : 1;
}
