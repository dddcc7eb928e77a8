import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { verifyPassword } from 'better-auth/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createUserWithPassword, generateAuthId } from '../src/factories';
import { type TestDatabase, createTestDatabase } from '../src/testing';

const script = fileURLToPath(new URL('./reset-password.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

function resetPassword(
  url: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { env: { ...process.env, DATABASE_URL: url }, cwd: packageDir },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function credentialHash(db: TestDatabase, email: string): Promise<string> {
  const account = await db.prisma.account.findFirstOrThrow({
    where: { user: { email }, providerId: 'credential' },
  });
  return account.password!;
}

async function addSession(db: TestDatabase, userId: string) {
  await db.prisma.session.create({
    data: {
      id: generateAuthId(),
      token: generateAuthId(),
      userId,
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  });
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ catalog: false });
});
afterAll(async () => {
  await db?.drop();
});

// Each run is a cold `node --import tsx` start (10 s and more on a busy two-core machine).
describe('reset-password (the operator tool)', { timeout: 120_000 }, () => {
  it('sets a new password shown once, stores only its hash, and signs the user out everywhere; others are untouched', async () => {
    const locked = await createUserWithPassword(db.prisma, {
      email: 'locked-out@example.com',
      name: 'Locked out',
      password: 'the-old-password-1',
    });
    const other = await createUserWithPassword(db.prisma, {
      email: 'other@example.com',
      name: 'Other',
      password: 'the-other-password-1',
    });
    await addSession(db, locked.id);
    await addSession(db, locked.id);
    await addSession(db, other.id);
    const otherHashBefore = await credentialHash(db, 'other@example.com');

    const run = await resetPassword(db.url, ['Locked-Out@Example.com']);
    expect(run.code, run.stderr).toBe(0);
    const password = /^\s*password:\s*(\S+)\s*$/m.exec(run.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(run.stdout).toContain('2 session(s) signed out');
    expect(run.stderr).not.toContain(password);

    const hash = await credentialHash(db, 'locked-out@example.com');
    expect(hash).not.toContain(password);
    expect(await verifyPassword({ hash, password: password! })).toBe(true);
    expect(await verifyPassword({ hash, password: 'the-old-password-1' })).toBe(false);
    expect(await db.prisma.session.count({ where: { userId: locked.id } })).toBe(0);

    expect(await db.prisma.session.count({ where: { userId: other.id } })).toBe(1);
    expect(await credentialHash(db, 'other@example.com')).toBe(otherHashBefore);

    const audit = await db.prisma.auditEvent.findMany({
      where: { path: 'operator-tool.resetPassword' },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ userId: locked.id, result: 'OK' });
    expect(JSON.stringify(audit[0]!.details)).not.toContain(password);
  });

  it('refuses an unknown email or a missing one with a clear error, changing nothing', async () => {
    const before = {
      accounts: await db.prisma.account.findMany({ orderBy: { id: 'asc' } }),
      sessions: await db.prisma.session.count(),
      audit: await db.prisma.auditEvent.count(),
    };

    const unknown = await resetPassword(db.url, ['nobody@example.com']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user with the email nobody@example.com');
    expect(unknown.stdout).toBe('');

    const missing = await resetPassword(db.url, []);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('usage: reset-password <email>');

    expect(await db.prisma.account.findMany({ orderBy: { id: 'asc' } })).toEqual(before.accounts);
    expect(await db.prisma.session.count()).toBe(before.sessions);
    expect(await db.prisma.auditEvent.count()).toBe(before.audit);
  });
});
