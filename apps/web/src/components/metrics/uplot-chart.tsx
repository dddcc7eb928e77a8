'use client';

import 'uplot/dist/uPlot.min.css';

import uPlot from 'uplot';
import { useEffect, useRef } from 'react';

/**
 * uPlot in React, thinly: the chart is made in an effect (uPlot touches the DOM only then, so
 * server rendering is unaffected), made again when `options` change (callers memoize them),
 * given new data with `setData`, and sized to its container's width.
 */
export function UplotChart({
  options,
  data,
  height,
  className,
}: {
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  height: number;
  className?: string;
}) {
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  useEffect(() => {
    dataRef.current = data;
  });

  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const chart = new uPlot(
      { ...options, width: Math.max(container.clientWidth, 50), height },
      dataRef.current,
      container,
    );
    chartRef.current = chart;
    const observer = new ResizeObserver(() => {
      const width = Math.max(container.clientWidth, 50);
      if (width !== chart.width) chart.setSize({ width, height });
    });
    observer.observe(container);
    return () => {
      observer.disconnect();
      chart.destroy();
      chartRef.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    const chart = chartRef.current;
    if (chart && chart.data !== data) chart.setData(data);
  }, [data]);

  return <div ref={containerRef} className={className} />;
}
