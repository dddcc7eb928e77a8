import { AppError } from '@coffer/contracts';

import { lockProject, type PrismaClient } from '../index';
import { QUOTA_NAMES, readQuotaLimits, readQuotaUsage, UNLIMITED, type QuotaName } from '../quotas';

/**
 * The quota check every insert of a quota'd row makes, web and worker alike (Trove's
 * run_with_quotas): inside the inserting transaction, the project's row locked first, so
 * concurrent inserts of one project take turns and cannot pass the quota together.
 */

/** Anything that can run raw SQL: the client, a transaction, or a project-scoped one. */
type Sql = Pick<PrismaClient, '$queryRaw'>;

export type QuotaRequest = Partial<Record<QuotaName, number>>;

/** The limit of each resource when no operator has set one (each process's settings). */
export type QuotaDefaults = Record<QuotaName, number>;

export interface QuotaCheckOptions {
  defaults: QuotaDefaults;
  /** The form field a resource's error belongs to (e.g. `{ volumeGb: 'volumeSizeGb' }`). */
  fields?: Partial<Record<QuotaName, string>>;
}

/** Locks the project row for the rest of the transaction, or "not found". */
export async function lockProjectOrNotFound(tx: Sql, projectId: string): Promise<void> {
  if (!(await lockProject(tx, projectId))) throw new AppError('NOT_FOUND', 'Project not found');
}

const DESCRIBE: Record<QuotaName, (limit: number, inUse: number, requested: number) => string> = {
  instances: (limit, inUse) =>
    `Quota exceeded: this project may have at most ${limit} instance${limit === 1 ? '' : 's'} and has ${inUse}. Delete one, or ask an operator to raise the quota.`,
  volumeGb: (limit, inUse, requested) =>
    `Quota exceeded: this project may use at most ${limit} GB of volume storage; ${inUse} GB are in use and ${requested} GB more were asked for.`,
  backups: (limit, inUse) =>
    `Quota exceeded: this project may keep at most ${limit} backup${limit === 1 ? '' : 's'} and has ${inUse}. Delete old backups, or ask an operator to raise the quota.`,
};

/** What a QUOTA_EXCEEDED error's details say about the resource that ran out. */
export interface QuotaExceeded {
  resource: QuotaName;
  limit: number;
  inUse: number;
  requested: number;
}

/**
 * Inside an interactive transaction, before the insert: locks the project and throws
 * QUOTA_EXCEEDED (details.quota: {@link QuotaExceeded}) unless the project can take `request`
 * more of each resource.
 */
export async function assertQuota(
  tx: Sql,
  projectId: string,
  request: QuotaRequest,
  { defaults, fields }: QuotaCheckOptions,
): Promise<void> {
  await lockProjectOrNotFound(tx, projectId);
  const [limits, usage] = await Promise.all([
    readQuotaLimits(tx, projectId, defaults),
    readQuotaUsage(tx, projectId),
  ]);
  for (const name of QUOTA_NAMES) {
    const requested = request[name];
    if (requested === undefined || requested <= 0) continue;
    const { limit } = limits[name];
    if (limit === UNLIMITED || usage[name] + requested <= limit) continue;
    const message = DESCRIBE[name](limit, usage[name], requested);
    const field = fields?.[name];
    const quota: QuotaExceeded = { resource: name, limit, inUse: usage[name], requested };
    throw new AppError('QUOTA_EXCEEDED', message, {
      details: { quota, ...(field ? { fieldErrors: { [field]: [message] } } : {}) },
    });
  }
}
