import { randomUUID } from 'node:crypto';

import { type PrismaClient } from '@coffer/db';
import { createProject, createUserWithPassword, makeOperator, addMembership } from '@coffer/db/factories';
import { createTestDatabase } from '@coffer/db/testing';

import type { SessionUser } from '~/server/api/trpc';

/**
 * A real PostgreSQL database for one test file, and callers of the real router acting as a
 * given user. Modules that read the environment are imported after DATABASE_URL points at
 * the test database.
 */
export async function createHarness() {
  const database = await createTestDatabase();
  process.env.DATABASE_URL = database.url;
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  const { createCaller } = await import('~/server/api/root');
  const { createTRPCContext } = await import('~/server/api/trpc');
  const prisma: PrismaClient = database.prisma;

  function callerFor(user: SessionUser | null) {
    return createCaller(() => createTRPCContext({ headers: new Headers() }, { db: prisma, getUser: async () => user }));
  }

  async function createUser(label = 'user'): Promise<SessionUser> {
    const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
    const user = await createUserWithPassword(prisma, { email, name: label, password: 'correct-horse-battery' });
    return { id: user.id, email: user.email, name: user.name };
  }

  async function createProjectWithOwner(name = 'Project') {
    const owner = await createUser('owner');
    const project = await createProject(prisma, { name, ownerUserId: owner.id });
    return { owner, project };
  }

  return {
    prisma,
    callerFor,
    createUser,
    createProjectWithOwner,
    addMembership: (projectId: string, userId: string, role: 'OWNER' | 'MEMBER' | 'VIEWER') =>
      addMembership(prisma, { projectId, userId, role }),
    makeOperator: (userId: string) => makeOperator(prisma, { userId }),
    close: () => database.drop(),
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
