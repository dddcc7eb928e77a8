import { randomUUID } from 'node:crypto';

import { type Prisma, type PrismaClient } from '@coffer/db';
import {
  createProject,
  createUserWithPassword,
  makeOperator,
  addMembership,
} from '@coffer/db/factories';
import { createTestDatabase, type TestDatabase } from '@coffer/db/testing';
import { recordingSecrets, registerSecret } from '@coffer/testing/secrets';
import { registerRunSecrets } from '@coffer/worker/test/secrets';

import type { SessionUser } from '~/server/api/trpc';

/**
 * A real PostgreSQL database for one test file, and callers of the real router acting as a
 * given user. Modules that read the environment are imported after DATABASE_URL points at
 * the test database. With COFFER_TEST_LOG_DIR set, the secrets of the run (the settings',
 * the users' password, and every password, token and secret a call sends or answers) are
 * listed for the scan of the logs (@coffer/testing).
 */
const USER_PASSWORD = 'correct-horse-battery';

export async function createHarness({ database: given }: { database?: TestDatabase } = {}) {
  // A test that also runs the worker's test context passes that context's database (it drops it).
  const database = given ?? (await createTestDatabase());
  process.env.DATABASE_URL = database.url;
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  const { createCaller } = await import('~/server/api/root');
  const { createTRPCContext } = await import('~/server/api/trpc');
  const prisma: PrismaClient = database.prisma;
  registerSecret('BETTER_AUTH_SECRET (web tests)', process.env.BETTER_AUTH_SECRET);
  registerSecret('COFFER_MASTER_KEY (web tests)', process.env.COFFER_MASTER_KEY);
  registerSecret("the test users' password", USER_PASSWORD);

  function callerFor(user: SessionUser | null) {
    return recordingSecrets(
      createCaller(() =>
        createTRPCContext({ headers: new Headers() }, { db: prisma, getUser: async () => user }),
      ),
      'trpc',
    );
  }

  async function createUser(label = 'user'): Promise<SessionUser> {
    const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
    const user = await createUserWithPassword(prisma, {
      email,
      name: label,
      password: USER_PASSWORD,
    });
    return { id: user.id, email: user.email, name: user.name };
  }

  async function createProjectWithOwner(name = 'Project') {
    const owner = await createUser('owner');
    const project = await createProject(prisma, { name, ownerUserId: owner.id });
    return { owner, project };
  }

  /**
   * An instance row as the web app writes it, on the first enabled flavor and the default
   * version, BUILDING/NEW unless `fields` say otherwise: for what the control plane does with
   * rows (no server behind it).
   */
  async function insertInstance(
    projectId: string,
    fields: Partial<Prisma.InstanceUncheckedCreateInput> = {},
  ) {
    const flavor = await prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
    const version = await prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
    return prisma.instance.create({
      data: {
        projectId,
        name: `db-${randomUUID().slice(0, 6)}`,
        flavorId: flavor.id,
        datastoreVersionId: version.id,
        volumeSizeGb: 1,
        taskStatus: 'BUILDING',
        serviceStatus: 'NEW',
        ...fields,
      },
    });
  }

  return {
    prisma,
    callerFor,
    insertInstance,
    createUser,
    createProjectWithOwner,
    addMembership: (projectId: string, userId: string, role: 'OWNER' | 'MEMBER' | 'VIEWER') =>
      addMembership(prisma, { projectId, userId, role }),
    makeOperator: (userId: string) => makeOperator(prisma, { userId }),
    close: async () => {
      // For the scan of the run's logs (COFFER_TEST_LOG_DIR): guest secrets and keys, from the rows.
      await registerRunSecrets(prisma, process.env.COFFER_MASTER_KEY!).catch(() => undefined);
      if (!given) await database.drop();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
