import 'server-only';

import { type PrismaClient, type QuotaResource } from '@coffer/db';
import {
  assertQuota as assertDomainQuota,
  lockProjectOrNotFound,
  type QuotaRequest,
} from '@coffer/db/domain/quota';
import {
  NAME_OF,
  QUOTA_NAMES,
  readQuotaLimits,
  readQuotaUsage,
  type QuotaName,
} from '@coffer/db/quotas';

import { env } from '~/env';

/**
 * Quotas per project (Trove's quotas): instances, total volume GB, backups. A project's limit
 * is an operator's override (the `quotas` table) or the default from the settings; -1 means
 * unlimited. The check runs inside the transaction that inserts, after locking the project
 * row, so concurrent creates of one project take turns and cannot pass the quota together.
 */

export { QUOTA_NAMES, RESOURCE_OF, UNLIMITED, type QuotaName } from '@coffer/db/quotas';

export { type QuotaRequest };

export interface QuotaUsage {
  /** In use now. */
  inUse: number;
  /** The limit that applies (-1: unlimited). */
  limit: number;
  /** Whether the limit is an operator's override rather than the default. */
  isOverride: boolean;
}

/** Anything that can run raw SQL: the client, a transaction, or a project-scoped one. */
type Sql = Pick<PrismaClient, '$queryRaw'>;

export function defaultQuotas(): Record<QuotaName, number> {
  return {
    instances: env.COFFER_QUOTA_INSTANCES,
    volumeGb: env.COFFER_QUOTA_VOLUME_GB,
    backups: env.COFFER_QUOTA_BACKUPS,
  };
}

function readLimits(db: Sql, projectId: string) {
  return readQuotaLimits(db, projectId, defaultQuotas());
}

async function countManyBackups(db: Sql, projectIds: string[]): Promise<Map<string, number>> {
  const rows = await db.$queryRaw<{ projectId: string; count: bigint }[]>`
    SELECT "projectId"::text AS "projectId", count(*) AS count FROM backups
    WHERE status <> 'FAILED' AND "projectId"::text = ANY(${projectIds}) GROUP BY "projectId"`;
  return new Map(rows.map((row) => [row.projectId, Number(row.count)]));
}

/** Usage and limits of a project, for the console and the admin views. */
export async function getProjectQuotas(
  db: Sql,
  projectId: string,
): Promise<Record<QuotaName, QuotaUsage>> {
  const [limits, usage] = await Promise.all([
    readLimits(db, projectId),
    readQuotaUsage(db, projectId),
  ]);
  return Object.fromEntries(
    QUOTA_NAMES.map((name) => [name, { inUse: usage[name], ...limits[name] }]),
  ) as Record<QuotaName, QuotaUsage>;
}

/** Usage and limits of many projects at once (the admin views), in a few queries. */
export async function getManyProjectQuotas(
  db: Sql,
  projectIds: string[],
): Promise<Map<string, Record<QuotaName, QuotaUsage>>> {
  const result = new Map<string, Record<QuotaName, QuotaUsage>>();
  if (projectIds.length === 0) return result;
  const defaults = defaultQuotas();
  const [overrides, instances, backups] = await Promise.all([
    db.$queryRaw<{ projectId: string; resource: QuotaResource; hardLimit: number }[]>`
      SELECT "projectId"::text AS "projectId", resource, "hardLimit" FROM quotas WHERE "projectId"::text = ANY(${projectIds})`,
    db.$queryRaw<{ projectId: string; count: bigint; volume_gb: bigint | null }[]>`
      SELECT "projectId"::text AS "projectId", count(*) AS count, sum("volumeSizeGb") AS volume_gb
      FROM instances WHERE "deletedAt" IS NULL AND "projectId"::text = ANY(${projectIds}) GROUP BY "projectId"`,
    countManyBackups(db, projectIds),
  ]);
  for (const id of projectIds) {
    result.set(
      id,
      Object.fromEntries(
        QUOTA_NAMES.map((name) => [name, { inUse: 0, limit: defaults[name], isOverride: false }]),
      ) as Record<QuotaName, QuotaUsage>,
    );
  }
  for (const row of overrides)
    Object.assign(result.get(row.projectId)![NAME_OF[row.resource]], {
      limit: row.hardLimit,
      isOverride: true,
    });
  for (const row of instances) {
    const quotas = result.get(row.projectId)!;
    quotas.instances.inUse = Number(row.count);
    quotas.volumeGb.inUse = Number(row.volume_gb ?? 0);
  }
  for (const [projectId, count] of backups) result.get(projectId)!.backups.inUse = count;
  return result;
}

/** Locks the project row for the rest of the transaction (packages/db's lockProject), or "not found". */
export async function lockProjectForQuota(tx: Sql, projectId: string): Promise<void> {
  await lockProjectOrNotFound(tx, projectId);
}

/**
 * Inside an interactive transaction, before the insert: locks the project and throws
 * QUOTA_EXCEEDED unless the project can take `request` more of each resource (the domain's
 * check, with this app's defaults). `fields` names the form field to attach a resource's
 * error to (e.g. `{ volumeGb: 'volumeSizeGb' }`).
 *
 *   await db.$transaction(async (tx) => {
 *     await assertQuota(tx, projectId, { instances: 1, volumeGb: 20 });
 *     await tx.instance.create(...);
 *   });
 */
export async function assertQuota(
  tx: Sql,
  projectId: string,
  request: QuotaRequest,
  options: { fields?: Partial<Record<QuotaName, string>> } = {},
): Promise<void> {
  await assertDomainQuota(tx, projectId, request, { defaults: defaultQuotas(), ...options });
}

/**
 * The backups check, for the transaction that inserts a backup row:
 *
 *   await db.$transaction(async (tx) => {
 *     await assertBackupQuota(tx, projectId);
 *     await tx.backup.create(...);
 *   });
 */
export async function assertBackupQuota(tx: Sql, projectId: string, count = 1): Promise<void> {
  await assertQuota(tx, projectId, { backups: count });
}
