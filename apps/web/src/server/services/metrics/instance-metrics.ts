import 'server-only';

import { AppError } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { z } from 'zod';

import { type ProjectScopedDb } from '~/server/tenancy';

import { BUCKET_SELECT, metricPointSchema, toMetricPoint, type MetricPoint } from './metric-point';

/**
 * An instance's metrics over a time range (issue 16; the Monitoring tab's charts): raw samples
 * for spans up to 6 hours, 1-minute rollups up to 7 days, 1-hour rollups beyond (at most
 * {@link MAX_SPAN_MS}), in at most {@link MAX_POINTS} buckets (each the average of its
 * samples; sizes and high-water marks their maximum). Read through the project-scoped client:
 * another project's instance is "not found".
 */

export const RANGES = {
  '1h': 3600_000,
  '6h': 6 * 3600_000,
  '24h': 24 * 3600_000,
  '7d': 7 * 24 * 3600_000,
} as const;
export const MAX_POINTS = 400;
/** What the 1-hour rollups keep. */
export const MAX_SPAN_MS = 90 * 24 * 3600_000;

export const instanceMetricsInput = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
  range: z.enum(['1h', '6h', '24h', '7d']).optional(),
  from: z.iso.datetime({ offset: true, error: 'from must be an ISO date-time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'to must be an ISO date-time' }).optional(),
});

export const instanceMetricsSchema = z.object({
  resolution: z.enum(['raw', '1m', '1h']),
  stepSeconds: z.number(),
  points: z.array(metricPointSchema),
  latest: metricPointSchema.nullable(),
  maxConnections: z.number().nullable(),
});
export type InstanceMetrics = z.infer<typeof instanceMetricsSchema>;

const TABLES = {
  raw: { table: 'instance_metrics', time: 'at', stepMs: 1000 },
  '1m': { table: 'instance_metrics_1m', time: 'bucket', stepMs: 60_000 },
  '1h': { table: 'instance_metrics_1h', time: 'bucket', stepMs: 3600_000 },
} as const;

/** The window asked for: `from`/`to` (to: now), else `range` (default 1 h) up to now. */
export function resolveWindow(
  input: Pick<z.output<typeof instanceMetricsInput>, 'range' | 'from' | 'to'>,
  now = new Date(),
): { from: Date; to: Date } {
  if (input.from === undefined && input.to !== undefined)
    throw new AppError('BAD_REQUEST', 'Give from with to (or a range)');
  if (input.from !== undefined && input.range !== undefined)
    throw new AppError('BAD_REQUEST', 'Give either a range or from and to, not both');
  const to = input.to ? new Date(input.to) : now;
  const from = input.from
    ? new Date(input.from)
    : new Date(to.getTime() - RANGES[input.range ?? '1h']);
  if (from.getTime() >= to.getTime()) throw new AppError('BAD_REQUEST', 'from must be before to');
  if (to.getTime() - from.getTime() > MAX_SPAN_MS)
    throw new AppError('BAD_REQUEST', 'The range can span at most 90 days');
  return { from, to };
}

/** Raw up to 6 h, 1-minute rollups up to 7 days, 1-hour beyond; buckets so there are at most MAX_POINTS. */
export function chooseResolution(spanMs: number): {
  resolution: keyof typeof TABLES;
  stepSeconds: number;
} {
  const resolution = spanMs <= RANGES['6h'] ? 'raw' : spanMs <= RANGES['7d'] ? '1m' : '1h';
  const nativeMs = TABLES[resolution].stepMs;
  const stepMs = Math.max(nativeMs, Math.ceil(spanMs / MAX_POINTS / nativeMs) * nativeMs);
  return { resolution, stepSeconds: stepMs / 1000 };
}

/** The instance's newest raw sample (kept 24 h), or null. */
export async function latestSample(
  db: PrismaClient | ProjectScopedDb,
  instanceId: string,
): Promise<{ point: MetricPoint; maxConnections: number | null } | null> {
  const row = await db.instanceMetric.findFirst({ where: { instanceId }, orderBy: { at: 'desc' } });
  if (!row) return null;
  return { point: toMetricPoint(row), maxConnections: row.maxConnections };
}

export async function readInstanceMetrics(
  db: ProjectScopedDb,
  input: z.output<typeof instanceMetricsInput>,
  now = new Date(),
): Promise<InstanceMetrics> {
  const { from, to } = resolveWindow(input, now);
  const instance = await db.instance.findFirst({
    where: { id: input.instanceId, deletedAt: null },
    select: { id: true },
  });
  if (!instance) throw new AppError('NOT_FOUND', 'Instance not found');
  const { resolution, stepSeconds } = chooseResolution(to.getTime() - from.getTime());
  const { table, time } = TABLES[resolution];
  // Buckets aligned on the window's start: date_bin(step, time, from).
  const rows = await db.$queryRawUnsafe<(Record<string, unknown> & { at: Date })[]>(
    `SELECT date_bin(make_interval(secs => $4), "${time}", $2) AS "at", ${BUCKET_SELECT}
     FROM "${table}" WHERE "instanceId" = $1::uuid AND "${time}" >= $2 AND "${time}" < $3
     GROUP BY 1 ORDER BY 1`,
    instance.id,
    from,
    to,
    stepSeconds,
  );
  const latest = await latestSample(db, instance.id);
  return {
    resolution,
    stepSeconds,
    points: rows.map(toMetricPoint),
    latest: latest?.point ?? null,
    maxConnections: latest?.maxConnections ?? null,
  };
}
