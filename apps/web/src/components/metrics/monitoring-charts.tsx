'use client';

import { useMemo } from 'react';

import type { MetricUnit } from './format';
import { MetricChart, type ChartSeries } from './metric-chart';
import type { InstanceMetrics, MetricPoint } from './types';

type Field = Exclude<keyof MetricPoint, 'at'>;

interface ChartSpec {
  title: string;
  unit: MetricUnit;
  lines: Array<{ label: string; field: Field; color: string }>;
  yMax?: number;
  replicaOnly?: boolean;
}

const BLUE = '#2563eb';
const ORANGE = '#ea580c';
const GREEN = '#16a34a';
const RED = '#dc2626';

/** The Monitoring tab's charts, in order. */
const CHARTS: ChartSpec[] = [
  {
    title: 'CPU',
    unit: 'percent',
    lines: [
      { label: 'Server', field: 'cpuPercent', color: BLUE },
      { label: 'Guest', field: 'guestCpuPercent', color: ORANGE },
    ],
  },
  {
    title: 'Memory',
    unit: 'bytes',
    lines: [
      { label: 'Server', field: 'memoryBytes', color: BLUE },
      { label: 'Guest', field: 'guestMemoryBytes', color: ORANGE },
    ],
  },
  {
    title: 'Connections',
    unit: 'count',
    lines: [
      { label: 'Connected', field: 'connections', color: BLUE },
      { label: 'Max used', field: 'maxUsedConnections', color: ORANGE },
    ],
  },
  {
    title: 'Queries per second',
    unit: 'perSecond',
    lines: [
      { label: 'Queries', field: 'queriesPerSec', color: BLUE },
      { label: 'Slow queries', field: 'slowQueriesPerSec', color: RED },
    ],
  },
  {
    title: 'Buffer pool hit ratio',
    unit: 'ratio',
    yMax: 1,
    lines: [{ label: 'Hit ratio', field: 'bufferPoolHitRatio', color: GREEN }],
  },
  {
    title: 'Rows per second',
    unit: 'perSecond',
    lines: [
      { label: 'Read', field: 'rowsReadPerSec', color: BLUE },
      { label: 'Written', field: 'rowsWrittenPerSec', color: ORANGE },
    ],
  },
  {
    title: 'Volume',
    unit: 'bytes',
    lines: [
      { label: 'Used', field: 'volumeUsedBytes', color: BLUE },
      { label: 'Total', field: 'volumeTotalBytes', color: '#71717a' },
    ],
  },
  {
    title: 'Binary log size',
    unit: 'bytes',
    lines: [{ label: 'Binary logs', field: 'binlogBytes', color: BLUE }],
  },
  {
    title: 'Replication lag',
    unit: 'seconds',
    replicaOnly: true,
    lines: [{ label: 'Lag', field: 'replicationLagSeconds', color: RED }],
  },
];

/**
 * The charts of one instance's metrics (what `metrics.instance` answers), or an empty state
 * when its guest has sent no sample in the range. The replication-lag chart only on a replica;
 * the connections chart with the server's max_connections as a dashed line.
 */
export function MonitoringCharts({
  metrics,
  isReplica,
}: {
  metrics: InstanceMetrics;
  isReplica: boolean;
}) {
  const times = useMemo(
    () => metrics.points.map((point) => Date.parse(point.at) / 1000),
    [metrics.points],
  );
  const charts = useMemo(
    () =>
      CHARTS.filter((chart) => isReplica || !chart.replicaOnly).map((chart) => {
        const series: ChartSeries[] = chart.lines.map((line) => ({
          label: line.label,
          color: line.color,
          values: metrics.points.map((point) => point[line.field]),
        }));
        if (chart.title === 'Connections' && metrics.maxConnections !== null) {
          series.push({
            label: 'max_connections',
            color: RED,
            isLimit: true,
            values: metrics.points.map(() => metrics.maxConnections),
          });
        }
        return { ...chart, series };
      }),
    [metrics.points, metrics.maxConnections, isReplica],
  );

  if (metrics.points.length === 0) {
    return (
      <p
        role="status"
        className="rounded-lg border border-dashed border-zinc-300 p-8 text-center text-sm text-zinc-500"
      >
        No samples in this range yet. The instance&apos;s guest sends one every heartbeat once its
        database server runs; charts appear with the first.
      </p>
    );
  }
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      {charts.map((chart) => (
        <MetricChart
          key={chart.title}
          title={chart.title}
          unit={chart.unit}
          times={times}
          series={chart.series}
          yMax={chart.yMax}
        />
      ))}
    </div>
  );
}
