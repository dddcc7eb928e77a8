import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { verifyPassword } from 'better-auth/crypto';
import { afterEach, describe, expect, it } from 'vitest';

import { detectMariadbVersion } from '../src/mariadb';
import { type TestDatabase, createTestDatabase } from '../src/testing';

const seedScript = fileURLToPath(new URL('./seed.ts', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

interface SeedRun {
  code: number;
  stdout: string;
  stderr: string;
}

function seed(url: string, extraEnv: Record<string, string> = {}): Promise<SeedRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, ...extraEnv };
  if (!('COFFER_ADMIN_EMAIL' in extraEnv)) delete env.COFFER_ADMIN_EMAIL;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', seedScript],
      { env, cwd: packageDir },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function printedPassword(stdout: string): string | undefined {
  return /^\s*password:\s*(\S+)\s*$/m.exec(stdout)?.[1];
}

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.drop();
  db = undefined;
});

// Each test runs the seed script two or three times, each a cold `node --import tsx` start
// (10 s and more on a busy two-core machine with another test file beside it): the project's
// 30 s is too short a deadline for that.
describe('seed', { timeout: 120_000 }, () => {
  it('creates the catalog and the first operator, printing the password the first time only', async () => {
    db = await createTestDatabase({ catalog: false });

    const first = await seed(db.url);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^\s*email:\s*admin@coffer\.local\s*$/m);
    const password = printedPassword(first.stdout);
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    // Nothing on stdout but the sign-in message.
    expect(first.stdout.trim().split('\n')).toHaveLength(4);

    const user = await db.prisma.user.findUniqueOrThrow({
      where: { email: 'admin@coffer.local' },
      include: { operator: true, accounts: true, memberships: { include: { project: true } } },
    });
    expect(user.operator).not.toBeNull();
    expect(user.memberships.map((m) => [m.project.name, m.role])).toEqual([
      ['Operations', 'OWNER'],
    ]);
    expect(user.accounts).toHaveLength(1);
    const account = user.accounts[0]!;
    expect(account).toMatchObject({ providerId: 'credential', accountId: user.id });
    expect(account.password).not.toContain(password);
    expect(await verifyPassword({ hash: account.password!, password: password! })).toBe(true);

    const version = await db.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
      include: { datastore: true },
    });
    expect(version.datastore.name).toBe('mariadb');
    expect(version.version).toBe(detectMariadbVersion());
    expect(await db.prisma.flavor.count()).toBeGreaterThan(0);

    const second = await seed(db.url);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(
      'Operator sign-in: admin@coffer.local (password set when it was created)',
    );
    expect(second.stdout).not.toContain(password);
    expect(await db.prisma.operator.count()).toBe(1);
    expect(await db.prisma.user.count()).toBe(1);
    expect(await db.prisma.datastoreVersion.count()).toBe(1);
  });

  it('takes the operator email from COFFER_ADMIN_EMAIL, and concurrent seeds make one operator', async () => {
    db = await createTestDatabase({ catalog: false });

    const runs = await Promise.all([
      seed(db.url, { COFFER_ADMIN_EMAIL: 'Ops@Example.test' }),
      seed(db.url, { COFFER_ADMIN_EMAIL: 'Ops@Example.test' }),
    ]);

    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs.filter((run) => printedPassword(run.stdout)).length).toBe(1);
    expect(await db.prisma.operator.count()).toBe(1);
    expect((await db.prisma.user.findFirstOrThrow()).email).toBe('ops@example.test');
  });

  it('fails clearly, printing nothing to stdout, when no MariaDB server is installed', async () => {
    db = await createTestDatabase({ catalog: false });

    const run = await seed(db.url, { COFFER_MARIADBD: '/nonexistent/mariadbd' });

    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/MariaDB server not found/);
    expect(await db.prisma.operator.count()).toBe(0);
  });
});
