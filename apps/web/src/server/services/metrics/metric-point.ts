import { z } from 'zod';

/**
 * One point of an instance's metrics as the API gives it (issue 16): a raw sample, or the
 * average of the samples of a bucket (the peaks and sizes: their maximum). Every figure is
 * null when the guest could not read it. Shared by the metrics and alerts services.
 */
export const metricPointSchema = z.object({
  at: z.string(),
  cpuPercent: z.number().nullable(),
  memoryBytes: z.number().nullable(),
  guestCpuPercent: z.number().nullable(),
  guestMemoryBytes: z.number().nullable(),
  connections: z.number().nullable(),
  maxUsedConnections: z.number().nullable(),
  abortedConnectsPerSec: z.number().nullable(),
  queriesPerSec: z.number().nullable(),
  slowQueriesPerSec: z.number().nullable(),
  bufferPoolHitRatio: z.number().nullable(),
  dirtyPages: z.number().nullable(),
  rowsReadPerSec: z.number().nullable(),
  rowsWrittenPerSec: z.number().nullable(),
  replicationLagSeconds: z.number().nullable(),
  volumeUsedBytes: z.number().nullable(),
  volumeTotalBytes: z.number().nullable(),
  binlogBytes: z.number().nullable(),
});
export type MetricPoint = z.infer<typeof metricPointSchema>;

type Figure = Exclude<keyof MetricPoint, 'at'>;
export const POINT_FIGURES = Object.keys(metricPointSchema.shape).filter(
  (key) => key !== 'at',
) as Figure[];

/** Figures a bucket reports the maximum of (sizes and high-water marks); the others: the average. */
const MAX_FIGURES = new Set<Figure>([
  'maxUsedConnections',
  'volumeUsedBytes',
  'volumeTotalBytes',
  'binlogBytes',
]);

/** The SELECT list of a bucketed read (the columns have the figures' names in every metrics table). */
export const BUCKET_SELECT = POINT_FIGURES.map(
  (name) => `${MAX_FIGURES.has(name) ? 'MAX' : 'AVG'}("${name}")::float8 AS "${name}"`,
).join(', ');

/** A row of any metrics table (numbers, bigints or numerics) as a point. */
export function toMetricPoint(row: Record<string, unknown> & { at: Date }): MetricPoint {
  const point = { at: row.at.toISOString() } as MetricPoint;
  for (const name of POINT_FIGURES) {
    const value = row[name];
    point[name] = value === null || value === undefined ? null : Number(value);
  }
  return point;
}
