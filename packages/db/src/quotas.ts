import { type PrismaClient, type QuotaResource } from './generated/prisma/client';

/**
 * A project's quotas as the rows say (Trove's quotas): the limit of each resource (an
 * operator's override in `quotas`, else the default the caller's settings give; -1 means
 * unlimited) and what the project uses now. Shared by the web app (creates, the console) and
 * the watchdog (scheduled backups); callers check inside the inserting transaction, after
 * `lockProject`.
 */

export type QuotaName = 'instances' | 'volumeGb' | 'backups';
export const QUOTA_NAMES: readonly QuotaName[] = ['instances', 'volumeGb', 'backups'];
export const UNLIMITED = -1;

export const RESOURCE_OF: Record<QuotaName, QuotaResource> = {
  instances: 'INSTANCES',
  volumeGb: 'VOLUME_GB',
  backups: 'BACKUPS',
};
export const NAME_OF: Record<QuotaResource, QuotaName> = {
  INSTANCES: 'instances',
  VOLUME_GB: 'volumeGb',
  BACKUPS: 'backups',
};

/** Anything that can run raw SQL: the client, a transaction, or a project-scoped one. */
type Sql = Pick<PrismaClient, '$queryRaw'>;

export async function readQuotaLimits(
  db: Sql,
  projectId: string,
  defaults: Record<QuotaName, number>,
): Promise<Record<QuotaName, { limit: number; isOverride: boolean }>> {
  const limits = Object.fromEntries(
    QUOTA_NAMES.map((name) => [name, { limit: defaults[name], isOverride: false }]),
  ) as Record<QuotaName, { limit: number; isOverride: boolean }>;
  const overrides = await db.$queryRaw<{ resource: QuotaResource; hardLimit: number }[]>`
    SELECT resource, "hardLimit" FROM quotas WHERE "projectId" = ${projectId}::uuid`;
  for (const row of overrides)
    limits[NAME_OF[row.resource]] = { limit: row.hardLimit, isOverride: true };
  return limits;
}

/**
 * What the project uses now. Instances count until their row is gone (a DELETING instance
 * still holds its volume); backups are every backup row but failed ones (they store nothing;
 * a backup being made or being deleted still counts).
 */
export async function readQuotaUsage(
  db: Sql,
  projectId: string,
): Promise<Record<QuotaName, number>> {
  const [[instances], [backups]] = await Promise.all([
    db.$queryRaw<{ count: bigint; volume_gb: bigint | null }[]>`
      SELECT count(*) AS count, sum("volumeSizeGb") AS volume_gb
      FROM instances WHERE "projectId" = ${projectId}::uuid AND "deletedAt" IS NULL`,
    db.$queryRaw<{ count: bigint }[]>`
      SELECT count(*) AS count FROM backups WHERE "projectId" = ${projectId}::uuid AND status <> 'FAILED'`,
  ]);
  return {
    instances: Number(instances?.count ?? 0),
    volumeGb: Number(instances?.volume_gb ?? 0),
    backups: Number(backups?.count ?? 0),
  };
}
