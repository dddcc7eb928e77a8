'use client';

import type uPlot from 'uplot';
import { useId, useMemo } from 'react';

import { formatValue, type MetricUnit } from './format';
import { UplotChart } from './uplot-chart';

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
  /** A limit drawn dashed (such as max_connections). */
  isLimit?: boolean;
}

const HEIGHT = 160;

function lastValue(values: Array<number | null>): number | null {
  for (let index = values.length - 1; index >= 0; index -= 1) {
    const value = values[index];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/**
 * One metric over time: a figure with a heading, the chart (`role="img"`, labelled with what
 * it shows and its latest values) and a caption with the latest values.
 */
export function MetricChart({
  title,
  unit,
  times,
  series,
  yMax,
}: {
  title: string;
  unit: MetricUnit;
  /** Unix seconds, one per point. */
  times: number[];
  series: ChartSeries[];
  /** The y axis' top (e.g. 100 for percentages; a ratio's 1), else fitted to the data. */
  yMax?: number;
}) {
  const headingId = useId();
  const shape = series.map((item) => `${item.label}:${item.color}:${item.isLimit ?? false}`).join();
  // Made again only when the series' looks change (`shape`), not with every new point.
  const options = useMemo(() => chartOptions(unit, series, yMax), [unit, shape, yMax]);
  const data = useMemo(
    () => [times, ...series.map((item) => item.values)] as uPlot.AlignedData,
    [times, series],
  );
  const latest = series
    .map((item) => `${item.label} ${formatValue(lastValue(item.values), unit)}`)
    .join(', ');

  return (
    <figure
      aria-labelledby={headingId}
      className="rounded-lg border border-zinc-200 bg-white p-4 shadow-sm"
      data-points={times.length}
    >
      <h3 id={headingId} className="text-sm font-semibold text-zinc-900">
        {title}
      </h3>
      <div role="img" aria-label={`${title} chart, ${times.length} points: latest ${latest}`}>
        <UplotChart options={options} data={data} height={HEIGHT} className="mt-2" />
      </div>
      <figcaption className="mt-2 text-xs text-zinc-600">Latest: {latest}</figcaption>
    </figure>
  );
}

// The canvas cannot use the CSS variables: the grid's greys follow the system's scheme at each draw.
const isDark = () => window.matchMedia('(prefers-color-scheme: dark)').matches;
const gridStroke = () => (isDark() ? '#27272a' : '#f4f4f5');
const tickStroke = () => (isDark() ? '#3f3f46' : '#e4e4e7');

function chartOptions(
  unit: MetricUnit,
  series: ChartSeries[],
  yMax: number | undefined,
): Omit<uPlot.Options, 'width' | 'height'> {
  const format = (value: number | null) => formatValue(value, unit);
  return {
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: {
        range: (_chart, min, max) => [
          Math.min(0, min ?? 0),
          yMax ?? (max !== null && max > 0 ? max * 1.1 : 1),
        ],
      },
    },
    axes: [
      { stroke: '#71717a', grid: { stroke: gridStroke }, ticks: { stroke: tickStroke } },
      {
        stroke: '#71717a',
        grid: { stroke: gridStroke },
        ticks: { stroke: tickStroke },
        size: 70,
        values: (_chart, splits) => splits.map((value) => format(value)),
      },
    ],
    series: [
      {},
      ...series.map((item): uPlot.Series => ({
        label: item.label,
        stroke: item.color,
        width: item.isLimit ? 1 : 1.5,
        dash: item.isLimit ? [6, 4] : undefined,
        fill: item.isLimit ? undefined : `${item.color}1a`,
        value: (_chart, value) => format(value),
      })),
    ],
  };
}
