import { generateRandomString, hashPassword } from 'better-auth/crypto';

import { generateAuthId } from '../factories';
import { type PrismaClient } from '../index';

/**
 * Passwords that setup hands to a person (the first operator's, and one set by the reset
 * tool): 24 characters of [A-Za-z0-9] (about 143 bits) from a CSPRNG, easy to copy, and
 * better-auth's scrypt hash of it, the only form stored.
 */
export async function newSignInPassword(): Promise<{ password: string; hash: string }> {
  const password = generateRandomString(24, 'a-z', 'A-Z', '0-9');
  return { password, hash: await hashPassword(password) };
}

export class NoSuchUserError extends Error {
  constructor(email: string) {
    super(`no user with the email ${email}`);
    this.name = 'NoSuchUserError';
  }
}

/**
 * Gives the user with `email` a new password (as `hash`) and ends every session they have,
 * as better-auth's own reset does; recorded in the audit log as the operator tool's (no
 * project, no actor: whoever runs it holds the deployment's database). A user who signed up
 * some other way gets a credential account. An unknown email changes nothing.
 */
export async function resetSignInPassword(
  prisma: PrismaClient,
  { email, hash }: { email: string; hash: string },
): Promise<{ userId: string; sessionsEnded: number }> {
  const normalized = email.trim().toLowerCase();
  return prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { email: normalized }, select: { id: true } });
    if (!user) throw new NoSuchUserError(normalized);
    const updated = await tx.account.updateMany({
      where: { userId: user.id, providerId: 'credential' },
      data: { password: hash },
    });
    if (updated.count === 0) {
      await tx.account.create({
        data: {
          id: generateAuthId(),
          userId: user.id,
          providerId: 'credential',
          accountId: user.id,
          password: hash,
        },
      });
    }
    const sessions = await tx.session.deleteMany({ where: { userId: user.id } });
    await tx.auditEvent.create({
      data: {
        path: 'operator-tool.resetPassword',
        userId: user.id,
        actorEmail: normalized,
        resourceId: user.id,
        result: 'OK',
        details: { sessionsEnded: sessions.count },
      },
    });
    return { userId: user.id, sessionsEnded: sessions.count };
  });
}
