import { type PrismaClient } from '@coffer/db';

/**
 * Rollups and retention of the guests' metrics (issue 16): raw samples (`instance_metrics`,
 * one per instance per heartbeat interval) are kept 24 hours, their 1-minute rollups 7 days,
 * the 1-hour rollups 90 days.
 *
 * Rollups are made by a periodic sweep of the watchdog (every minute), not by an upsert per
 * sample: an upsert of a minute row and an hour row on every insert would write three row
 * versions per sample (two of them dead tuples for vacuum), and take two more index lookups
 * in the conductor's hot path; one INSERT … SELECT … GROUP BY a minute for the whole fleet
 * writes one row version per instance per minute (per hour: one per sweep), read from the
 * primary key's range. Each sweep recomputes the buckets of the last {@link RECOMPUTE_MINUTES}
 * minutes (the minute under way included, so a 1-minute view is at most a sweep behind), so
 * samples the conductor applies late (a backlog shorter than that) still count.
 */

export const RETENTION = {
  rawMs: 24 * 3600_000,
  minuteMs: 7 * 24 * 3600_000,
  hourMs: 90 * 24 * 3600_000,
} as const;

/** How far back each sweep recomputes minute buckets. */
export const RECOMPUTE_MINUTES = 5;

/** [column of the rollup, its aggregate over raw samples, its aggregate over 1-minute rows]. */
type Column = [name: string, fromRaw: string, fromMinutes: string];

/** Average weighted by the minute's samples, over minutes where the figure was known. */
function weighted(column: string, cast = ''): string {
  return `(SUM("${column}" * "samples") / NULLIF(SUM(CASE WHEN "${column}" IS NOT NULL THEN "samples" END), 0))${cast}`;
}
const avg = (name: string): Column => [name, `AVG("${name}")`, weighted(name)];
const avgBig = (name: string): Column => [
  name,
  `ROUND(AVG("${name}"))::bigint`,
  weighted(name, '::numeric'),
];
const max = (name: string, source = name): Column => [name, `MAX("${source}")`, `MAX("${name}")`];

const COLUMNS: Column[] = [
  avg('cpuPercent'),
  max('cpuPercentMax', 'cpuPercent'),
  avgBig('memoryBytes'),
  avg('guestCpuPercent'),
  avgBig('guestMemoryBytes'),
  avg('connections'),
  max('connectionsMax', 'connections'),
  max('maxUsedConnections'),
  avg('abortedConnectsPerSec'),
  avg('queriesPerSec'),
  max('queriesPerSecMax', 'queriesPerSec'),
  avg('slowQueriesPerSec'),
  avg('bufferPoolHitRatio'),
  avg('dirtyPages'),
  avg('rowsReadPerSec'),
  avg('rowsWrittenPerSec'),
  avg('replicationLagSeconds'),
  max('replicationLagSecondsMax', 'replicationLagSeconds'),
  max('volumeUsedBytes'),
  max('volumeTotalBytes'),
  max('binlogBytes'),
  max('maxConnections'),
];

const names = COLUMNS.map(([name]) => `"${name}"`).join(', ');
const updates = COLUMNS.map(([name]) => `"${name}" = EXCLUDED."${name}"`).join(', ');
// Hour averages of big integers come back numeric: rounded into the bigint column.
const fromMinutes = COLUMNS.map(([name, , agg]) =>
  ['memoryBytes', 'guestMemoryBytes'].includes(name) ? `ROUND(${agg})::bigint` : agg,
).join(', ');

const MINUTE_SQL = `
INSERT INTO "instance_metrics_1m" ("instanceId", "bucket", "samples", ${names})
SELECT "instanceId", date_trunc('minute', "at") AS "bucket", COUNT(*)::int, ${COLUMNS.map(([, agg]) => agg).join(', ')}
FROM "instance_metrics"
WHERE "at" >= $1 AND "at" < $2
GROUP BY "instanceId", date_trunc('minute', "at")
ON CONFLICT ("instanceId", "bucket") DO UPDATE SET "samples" = EXCLUDED."samples", ${updates}`;

const HOUR_SQL = `
INSERT INTO "instance_metrics_1h" ("instanceId", "bucket", "samples", ${names})
SELECT "instanceId", date_trunc('hour', "bucket") AS "hour", SUM("samples")::int, ${fromMinutes}
FROM "instance_metrics_1m"
WHERE "bucket" >= $1 AND "bucket" < $2
GROUP BY "instanceId", date_trunc('hour', "bucket")
ON CONFLICT ("instanceId", "bucket") DO UPDATE SET "samples" = EXCLUDED."samples", ${updates}`;

function truncate(at: Date, unitMs: number): Date {
  return new Date(Math.floor(at.getTime() / unitMs) * unitMs);
}

export interface RollupReport {
  minuteRows: number;
  hourRows: number;
}

/**
 * Recomputes the 1-minute buckets from `since` (default: {@link RECOMPUTE_MINUTES} before
 * `now`, to the minute) up to `now`'s minute included, then the hours those minutes fall in.
 */
export async function rollupMetrics(
  prisma: Pick<PrismaClient, '$executeRawUnsafe'>,
  now: Date = new Date(),
  since: Date = new Date(now.getTime() - RECOMPUTE_MINUTES * 60_000),
): Promise<RollupReport> {
  const from = truncate(since, 60_000);
  const to = new Date(truncate(now, 60_000).getTime() + 60_000);
  const minuteRows = await prisma.$executeRawUnsafe(MINUTE_SQL, from, to);
  const hourFrom = truncate(from, 3600_000);
  const hourTo = new Date(truncate(now, 3600_000).getTime() + 3600_000);
  const hourRows = await prisma.$executeRawUnsafe(HOUR_SQL, hourFrom, hourTo);
  return { minuteRows, hourRows };
}

/** Removes what is past its retention; returns how many rows went from each table. */
export async function pruneMetrics(
  prisma: PrismaClient,
  now: Date = new Date(),
): Promise<{ raw: number; minutes: number; hours: number }> {
  const at = (ms: number) => new Date(now.getTime() - ms);
  const [raw, minutes, hours] = await Promise.all([
    prisma.instanceMetric.deleteMany({ where: { at: { lt: at(RETENTION.rawMs) } } }),
    prisma.instanceMetricMinute.deleteMany({ where: { bucket: { lt: at(RETENTION.minuteMs) } } }),
    prisma.instanceMetricHour.deleteMany({ where: { bucket: { lt: at(RETENTION.hourMs) } } }),
  ]);
  return { raw: raw.count, minutes: minutes.count, hours: hours.count };
}

/** One sweep: rollups, then retention. */
export async function sweepMetrics(prisma: PrismaClient, now: Date = new Date()): Promise<void> {
  await rollupMetrics(prisma, now);
  await pruneMetrics(prisma, now);
}
