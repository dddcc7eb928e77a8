import 'server-only';

import { AppError } from '@coffer/contracts';
import { type ProjectRole } from '@coffer/db';

import { type ProjectScopedDb } from '~/server/tenancy';

const memberSelect = {
  id: true,
  role: true,
  createdAt: true,
  user: { select: { id: true, email: true, name: true } },
} as const;

export async function listMembers(db: ProjectScopedDb, projectId: string) {
  return db.membership.findMany({
    where: { projectId },
    select: memberSelect,
    orderBy: [{ createdAt: 'asc' }],
  });
}

/** Adds an existing Coffer user to a project by email. */
export async function addMember(
  db: ProjectScopedDb,
  input: { projectId: string; email: string; role: ProjectRole },
) {
  const user = await db.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (!user)
    throw new AppError('NOT_FOUND', 'No Coffer account uses this email; ask them to sign up first');
  const existing = await db.membership.findUnique({
    where: { projectId_userId: { projectId: input.projectId, userId: user.id } },
    select: { id: true },
  });
  if (existing) throw new AppError('CONFLICT', 'This person is already a member of the project');
  return db.membership.create({
    data: { projectId: input.projectId, userId: user.id, role: input.role },
    select: memberSelect,
  });
}

type MembershipDb = Pick<ProjectScopedDb, 'membership'>;

async function assertKeepsAnOwner(db: MembershipDb, projectId: string, membershipId: string) {
  const owners = await db.membership.count({
    where: { projectId, role: 'OWNER', id: { not: membershipId } },
  });
  if (owners === 0) throw new AppError('CONFLICT', 'A project needs at least one owner');
}

async function findMembership(db: MembershipDb, projectId: string, membershipId: string) {
  const membership = await db.membership.findFirst({
    where: { id: membershipId, projectId },
    select: { id: true, role: true },
  });
  if (!membership) throw new AppError('NOT_FOUND', 'Member not found');
  return membership;
}

export async function changeMemberRole(
  db: ProjectScopedDb,
  input: { projectId: string; membershipId: string; role: ProjectRole },
) {
  return db.$transaction(async (tx) => {
    const membership = await findMembership(tx, input.projectId, input.membershipId);
    if (membership.role === 'OWNER' && input.role !== 'OWNER') {
      await assertKeepsAnOwner(tx, input.projectId, membership.id);
    }
    return tx.membership.update({
      where: { id: membership.id },
      data: { role: input.role },
      select: memberSelect,
    });
  });
}

export async function removeMember(
  db: ProjectScopedDb,
  input: { projectId: string; membershipId: string },
) {
  await db.$transaction(async (tx) => {
    const membership = await findMembership(tx, input.projectId, input.membershipId);
    if (membership.role === 'OWNER') await assertKeepsAnOwner(tx, input.projectId, membership.id);
    await tx.membership.delete({ where: { id: membership.id } });
  });
}
