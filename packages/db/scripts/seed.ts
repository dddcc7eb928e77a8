// Seeds the control-plane database (idempotent; run after migrations):
//   - the catalog: flavors, the MariaDB datastore with the version installed on this machine
//     as its default version, and that version's configuration parameters; its backup and
//     replication strategies from COFFER_BACKUP_STRATEGY and COFFER_REPLICATION_STRATEGY
//     when they are set (at every seed: `npm start` seeds at every start);
//   - the first operator, if there is none: a user (COFFER_ADMIN_EMAIL, default
//     admin@coffer.local) with a generated password, operator and owner of the project
//     "Operations".
//
// stdout carries only what the person starting Coffer must see: the operator's email and,
// the one time it is created, the password (stored nowhere in clear: only better-auth's
// hash). Everything else goes to stderr.
//
//   DATABASE_URL=... node --import tsx packages/db/scripts/seed.ts
import { newSignInPassword } from '../src/domain/sign-in-password';
import { getSeedEnv } from '../src/env';
import {
  createProject,
  createUserWithPasswordHash,
  ensureCatalog,
  makeOperator,
} from '../src/factories';
import { createPrismaClient } from '../src/index';
import { detectMariadbVersion } from '../src/mariadb';

/** Serialises concurrent seeds around the first-operator check (any constant will do). */
const FIRST_OPERATOR_LOCK = 0x636f66666572n; // "coffer"

async function main(): Promise<string[]> {
  const env = getSeedEnv();
  const mariadbVersion = detectMariadbVersion({ binary: env.mariadbd });
  const prisma = createPrismaClient({
    url: env.databaseUrl,
    maxConnections: 2,
    applicationName: 'coffer-seed',
  });
  try {
    await ensureCatalog(prisma, {
      mariadbVersion,
      strategies: { backup: env.backupStrategy, replication: env.replicationStrategy },
    });

    const existing = await prisma.operator.findFirst({
      orderBy: { createdAt: 'asc' },
      include: { user: true },
    });
    if (existing)
      return [`Operator sign-in: ${existing.user.email} (password set when it was created)`];

    // Hashed before the transaction, so that scrypt does not hold the lock.
    const { password, hash } = await newSignInPassword();
    const email = env.adminEmail.toLowerCase();
    const created = await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${FIRST_OPERATOR_LOCK})`;
      const operator = await tx.operator.findFirst({
        orderBy: { createdAt: 'asc' },
        include: { user: true },
      });
      if (operator) return { email: operator.user.email, password: null };
      if (await tx.user.findUnique({ where: { email } })) {
        throw new Error(
          `a user ${email} exists but there is no operator; refusing to make it one. ` +
            'Set COFFER_ADMIN_EMAIL to another address, or make that user an operator by hand.',
        );
      }
      // Nobody receives mail for this address: the operator is vouched for by setup.
      const user = await createUserWithPasswordHash(tx, {
        email,
        name: 'Coffer operator',
        passwordHash: hash,
        emailVerified: true,
      });
      await makeOperator(tx, { userId: user.id });
      await createProject(tx, { name: 'Operations', ownerUserId: user.id });
      return { email, password };
    });
    if (!created.password)
      return [`Operator sign-in: ${created.email} (password set when it was created)`];
    return [
      'First operator created. Sign in with:',
      `  email:    ${created.email}`,
      `  password: ${created.password}`,
      'This password is shown only this once and stored only as a hash.',
    ];
  } finally {
    await prisma.$disconnect();
  }
}

try {
  const lines = await main();
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (error) {
  process.stderr.write(`seed failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
