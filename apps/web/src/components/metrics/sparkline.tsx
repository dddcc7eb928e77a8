'use client';

import type uPlot from 'uplot';
import { useMemo } from 'react';

import { formatValue } from './format';
import type { SparkPoint } from './types';
import { UplotChart } from './uplot-chart';

const CPU_COLOR = '#2563eb';
const CONNECTIONS_COLOR = '#ea580c';

const OPTIONS: Omit<uPlot.Options, 'width' | 'height'> = {
  legend: { show: false },
  cursor: { show: false },
  axes: [{ show: false }, { show: false }, { show: false, scale: 'connections' }],
  scales: {
    // The hour up to the newest point (a new instance's few points sit at the right).
    x: { time: true, range: (_chart, _min, max) => [(max ?? 0) - 3600, (max ?? 0) + 30] },
    y: { range: (_chart, _min, max) => [0, Math.max(max ?? 0, 1) * 1.1] },
    connections: { range: (_chart, _min, max) => [0, Math.max(max ?? 0, 1) * 1.1] },
  },
  series: [
    {},
    { stroke: CPU_COLOR, width: 1.25, points: { size: 3 } },
    { stroke: CONNECTIONS_COLOR, width: 1.25, points: { size: 3 }, scale: 'connections' },
  ],
};

function last<T>(values: T[]): T | undefined {
  return values[values.length - 1];
}

/**
 * An instance's last hour in a list row: CPU (blue) and connections (orange), each on its own
 * scale, with the latest of each in words beside it.
 */
export function Sparkline({ points }: { points: SparkPoint[] }) {
  const data = useMemo(
    () =>
      [
        points.map((point) => Date.parse(point.at) / 1000),
        points.map((point) => point.cpuPercent),
        points.map((point) => point.connections),
      ] as uPlot.AlignedData,
    [points],
  );
  if (points.length === 0) return <span className="text-xs text-zinc-400">no samples yet</span>;
  const latest = last(points);
  const cpu = formatValue(latest?.cpuPercent, 'percent');
  // A point is a minute's average: whole connections read better.
  const connections = formatValue(
    latest?.connections === null || latest?.connections === undefined
      ? null
      : Math.round(latest.connections),
    'count',
  );
  return (
    <div
      role="img"
      aria-label={`Last hour: CPU ${cpu}, ${connections} connections (${points.length} points)`}
      data-points={points.length}
      className="flex items-center gap-2"
    >
      <UplotChart options={OPTIONS} data={data} height={28} className="w-24 shrink-0" />
      <span className="whitespace-nowrap text-xs tabular-nums text-zinc-600" aria-hidden="true">
        <span style={{ color: CPU_COLOR }}>{cpu}</span> ·{' '}
        <span style={{ color: CONNECTIONS_COLOR }}>{connections}</span>
      </span>
    </div>
  );
}
