import { z } from 'zod';

/**
 * One metrics sample of an instance (issue 16, part 1), taken by its guest every heartbeat
 * interval and sent as a signed `metrics` conductor message. Rates are per second over the
 * time since the guest's previous sample (null on the first sample after a start, or when a
 * counter went backwards: the server restarted). Every field is null when it could not be
 * read (the server is down, a replica-only figure on a source, the binary log off).
 */
const rate = z.number().nonnegative().finite().nullable().default(null);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null);

export const metricsSampleSchema = z.object({
  /** CPU of the database server process, percent of one core (can pass 100 on several cores). */
  cpuPercent: rate,
  /** Resident memory of the database server process. */
  memoryBytes: count,
  /** The same for the guest agent itself. */
  guestCpuPercent: rate,
  guestMemoryBytes: count,
  /** Threads_connected, Max_used_connections, Aborted_connects per second. */
  connections: count,
  maxUsedConnections: count,
  abortedConnectsPerSec: rate,
  /** Questions and Slow_queries per second. */
  queriesPerSec: rate,
  slowQueriesPerSec: rate,
  /** 1 − reads from disk / read requests of the InnoDB buffer pool over the interval (0..1). */
  bufferPoolHitRatio: z.number().min(0).max(1).nullable().default(null),
  /** Innodb_buffer_pool_pages_dirty. */
  dirtyPages: count,
  /** Rows_read, and Handler_write + Handler_update + Handler_delete, per second (MariaDB has no Innodb_rows_*). */
  rowsReadPerSec: rate,
  rowsWrittenPerSec: rate,
  /** Seconds_Behind_Master on a replica. */
  replicationLagSeconds: count,
  volumeUsedBytes: count,
  volumeTotalBytes: count,
  /** The sum of SHOW BINARY LOGS' sizes, when the binary log is on. */
  binlogBytes: count,
  /** The server's max_connections. */
  maxConnections: count,
});
export type MetricsSample = z.infer<typeof metricsSampleSchema>;
/** What a sample holds before zod's defaults: every field optional. */
export type MetricsSampleInput = z.input<typeof metricsSampleSchema>;
export const METRIC_FIELDS = Object.keys(metricsSampleSchema.shape) as (keyof MetricsSample)[];
