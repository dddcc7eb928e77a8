import { BACKUP_STATUSES, DISPLAY_STATUSES } from '@coffer/contracts';

/**
 * A paged table's search, status filter, sort and page as they stand in the page's URL
 * (`?q=…&status=…&sort=name-asc&page=3`, each left out at its default), read the same way by
 * the server page (to prefetch exactly the query the client makes) and by the client.
 * `prefix` keeps two tables of one URL apart (an instance's Backups tab: `b-q`, `b-page`, …).
 */

export const PAGE_SIZE = 25;

/** The instance lists' sorts (the admin list and a project's), as the server's sort and order. */
export const INSTANCE_SORTS = {
  'created-desc': { label: 'Newest first', sort: 'created', order: 'desc' },
  'created-asc': { label: 'Oldest first', sort: 'created', order: 'asc' },
  'name-asc': { label: 'Name (A–Z)', sort: 'name', order: 'asc' },
  'name-desc': { label: 'Name (Z–A)', sort: 'name', order: 'desc' },
  'status-asc': { label: 'Status', sort: 'status', order: 'asc' },
} as const;

export const BACKUP_SORTS = {
  'created-desc': { label: 'Newest first', sort: 'created', order: 'desc' },
  'created-asc': { label: 'Oldest first', sort: 'created', order: 'asc' },
  'name-asc': { label: 'Name (A–Z)', sort: 'name', order: 'asc' },
  'instance-asc': { label: 'Instance (A–Z)', sort: 'instance', order: 'asc' },
  'size-desc': { label: 'Largest first', sort: 'size', order: 'desc' },
} as const;

export interface ListParams<Sort extends string, Status extends string> {
  search: string;
  status: Status | '';
  sortKey: Sort;
  page: number;
}

type ParamReader = (name: string) => string | null | undefined;

/** What a URL's parameters say (anything unknown: the default). */
export function readListParams<Sort extends string, Status extends string>(
  get: ParamReader,
  {
    prefix = '',
    sorts,
    statuses,
  }: { prefix?: string; sorts: Record<Sort, unknown>; statuses: readonly Status[] },
): ListParams<Sort, Status> {
  const sortKeys = Object.keys(sorts) as Sort[];
  const sort = get(`${prefix}sort`);
  const status = get(`${prefix}status`);
  const page = Number(get(`${prefix}page`) ?? 1);
  return {
    search: (get(`${prefix}q`) ?? '').trim(),
    status: statuses.includes(status as Status) ? (status as Status) : '',
    sortKey: sortKeys.includes(sort as Sort) ? (sort as Sort) : sortKeys[0]!,
    page: Number.isInteger(page) && page >= 1 && page <= 100_000 ? page : 1,
  };
}

/** A reader of a server page's `searchParams` (a repeated parameter: its first value). */
export function searchParamReader(params: Record<string, string | string[] | undefined>) {
  return (name: string) => {
    const value = params[name];
    return Array.isArray(value) ? value[0] : value;
  };
}

function pageInput<
  Sorts extends Record<string, { sort: string; order: 'asc' | 'desc' }>,
  Status extends string,
>(params: ListParams<keyof Sorts & string, Status>, sorts: Sorts) {
  const { sort, order } = sorts[params.sortKey]!;
  return {
    ...(params.search ? { search: params.search } : {}),
    ...(params.status ? { status: params.status } : {}),
    sort: sort as Sorts[keyof Sorts]['sort'],
    order,
    page: params.page,
    pageSize: PAGE_SIZE,
  };
}

export const readInstanceListParams = (get: ParamReader, prefix = '') =>
  readListParams(get, { prefix, sorts: INSTANCE_SORTS, statuses: DISPLAY_STATUSES });

export const readBackupListParams = (get: ParamReader, prefix = '') =>
  readListParams(get, { prefix, sorts: BACKUP_SORTS, statuses: BACKUP_STATUSES });

export type InstanceListParams = ReturnType<typeof readInstanceListParams>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The admin list's project filter (`?project=<id>`; anything but an id: every project). */
export function readProjectFilter(get: ParamReader, prefix = ''): string {
  const project = get(`${prefix}project`) ?? '';
  return UUID.test(project) ? project.toLowerCase() : '';
}

/** The admin list's view: a project's list's, and the project filter. */
export const readAdminInstanceListParams = (get: ParamReader, prefix = '') => ({
  ...readInstanceListParams(get, prefix),
  projectId: readProjectFilter(get, prefix),
});

/** `admin.instances`' input for the admin list's view. */
export function adminInstancesInput(params: InstanceListParams & { projectId: string }) {
  return {
    ...(params.projectId ? { projectId: params.projectId } : {}),
    ...pageInput(params, INSTANCE_SORTS),
  };
}
export type BackupListParams = ReturnType<typeof readBackupListParams>;

/** `instance.listPage`'s input for a project's list. */
export function instancePageInput(projectId: string, params: InstanceListParams) {
  return { projectId, ...pageInput(params, INSTANCE_SORTS) };
}

/** `backup.listPage`'s input for a project's list (of one instance's, with `instanceId`). */
export function backupPageInput(projectId: string, params: BackupListParams, instanceId?: string) {
  return {
    projectId,
    ...(instanceId ? { instanceId } : {}),
    ...pageInput(params, BACKUP_SORTS),
  };
}

/** The URL's parameters with `changes` made (null or '': left out, as a default is). */
export function withListParams(
  current: string,
  changes: Record<string, string | number | null>,
): string {
  const params = new URLSearchParams(current);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === '') params.delete(name);
    else params.set(name, String(value));
  }
  return params.toString();
}
