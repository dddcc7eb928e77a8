import 'server-only';

import { AppError } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type AuditTarget } from '~/server/services/audit/record-audit-event';
import {
  getManyProjectQuotas,
  getProjectQuotas,
  QUOTA_NAMES,
  RESOURCE_OF,
  type QuotaName,
  type QuotaUsage,
} from '~/server/services/quota/quota';

export const quotaNameSchema = z.enum(['instances', 'volumeGb', 'backups']);

export interface AdminProjectView {
  id: string;
  name: string;
  createdAt: Date;
  memberCount: number;
  quotas: Record<QuotaName, QuotaUsage>;
}

/** Every project with its members, usage and limits. */
export async function listProjectsWithQuotas(db: PrismaClient): Promise<AdminProjectView[]> {
  const projects = await db.project.findMany({
    select: { id: true, name: true, createdAt: true, _count: { select: { memberships: true } } },
    orderBy: { name: 'asc' },
  });
  const quotas = await getManyProjectQuotas(
    db,
    projects.map((project) => project.id),
  );
  return projects.map((project) => ({
    id: project.id,
    name: project.name,
    createdAt: project.createdAt,
    memberCount: project._count.memberships,
    quotas: quotas.get(project.id)!,
  }));
}

/**
 * Sets (or, with null, removes) an operator's override of one project's quota. Lowering a
 * limit below what is in use is allowed: nothing is deleted, new creates are refused.
 */
export async function setProjectQuota(
  ctx: { db: PrismaClient; audit: AuditTarget },
  input: { projectId: string; resource: QuotaName; hardLimit: number | null },
): Promise<Record<QuotaName, QuotaUsage>> {
  const project = await ctx.db.project.findUnique({
    where: { id: input.projectId },
    select: { id: true },
  });
  if (!project) throw new AppError('NOT_FOUND', 'Project not found');
  // The project is what changed: its owners see it in their log, operators by its name.
  ctx.audit.projectId = project.id;
  ctx.audit.resourceId = project.id;
  const resource = RESOURCE_OF[input.resource];
  const before = await getProjectQuotas(ctx.db, project.id);
  if (input.hardLimit === null) {
    await ctx.db.quota.deleteMany({ where: { projectId: project.id, resource } });
  } else {
    await ctx.db.quota.upsert({
      where: { projectId_resource: { projectId: project.id, resource } },
      create: { projectId: project.id, resource, hardLimit: input.hardLimit },
      update: { hardLimit: input.hardLimit },
    });
  }
  const after = await getProjectQuotas(ctx.db, project.id);
  // The limit in force before and after (-1: unlimited), and whether it was the default.
  ctx.audit.details = {
    changes: [
      {
        field: `${input.resource} quota`,
        from: readableLimit(before[input.resource]),
        to: readableLimit(after[input.resource]),
      },
    ],
    override: input.hardLimit,
  };
  return after;
}

/** "10", "10 (default)", "unlimited": a limit as the audit log shows it. */
function readableLimit(usage: QuotaUsage): string {
  const limit = usage.limit === -1 ? 'unlimited' : String(usage.limit);
  return usage.isOverride ? limit : `${limit} (default)`;
}

export { QUOTA_NAMES };
