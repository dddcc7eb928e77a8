/**
 * The shapes of the metrics and alerts procedures (issue 16 parts 1 and 5), written ahead of
 * their router. TEMPORARY: replaced by the router's inferred types once `metrics` and `alerts`
 * are in the app router.
 */
export type MetricRange = '1h' | '6h' | '24h' | '7d';

export interface MetricPoint {
  at: string;
  cpuPercent: number | null;
  memoryBytes: number | null;
  guestCpuPercent: number | null;
  guestMemoryBytes: number | null;
  connections: number | null;
  maxUsedConnections: number | null;
  abortedConnectsPerSec: number | null;
  queriesPerSec: number | null;
  slowQueriesPerSec: number | null;
  bufferPoolHitRatio: number | null;
  dirtyPages: number | null;
  rowsReadPerSec: number | null;
  rowsWrittenPerSec: number | null;
  replicationLagSeconds: number | null;
  volumeUsedBytes: number | null;
  volumeTotalBytes: number | null;
  binlogBytes: number | null;
}

export interface InstanceMetrics {
  resolution: 'raw' | '1m' | '1h';
  stepSeconds: number;
  points: MetricPoint[];
  latest: MetricPoint | null;
  maxConnections: number | null;
}

export interface SparkPoint {
  at: string;
  cpuPercent: number | null;
  connections: number | null;
}

export interface InstanceAlert {
  kind: 'volume' | 'connections' | 'replicationLag';
  message: string;
  value: number;
  threshold: number;
}
