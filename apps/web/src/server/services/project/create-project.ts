import 'server-only';

import { type PrismaClient } from '@coffer/db';

/** Creates a project with its creator as owner, in one transaction. */
export async function createProject(
  db: PrismaClient,
  input: { name: string; ownerUserId: string },
) {
  return db.$transaction(async (tx) => {
    const project = await tx.project.create({
      data: { name: input.name },
      select: { id: true, name: true },
    });
    await tx.membership.create({
      data: { projectId: project.id, userId: input.ownerUserId, role: 'OWNER' },
    });
    return { ...project, role: 'OWNER' as const };
  });
}
