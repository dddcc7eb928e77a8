'use client';

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';
import { MonitoringCharts } from './monitoring-charts';
import { RangePicker, type RangeChoice } from './range-picker';

const RESOLUTION_TEXT = { raw: 'samples', '1m': '1-minute rollups', '1h': '1-hour rollups' };

/** "9 s", "5 min", "2 h". */
function formatStep(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/**
 * An instance's Monitoring tab: a time range and its charts. A preset range follows live (the
 * project's live connection re-reads `metrics.*` on every new sample); a custom one is fixed.
 */
export function MonitoringPanel({
  projectId,
  instanceId,
  isReplica,
}: {
  projectId: string;
  instanceId: string;
  isReplica: boolean;
}) {
  const trpc = useTRPC();
  const [choice, setChoice] = useState<RangeChoice>({ kind: 'preset', range: '1h' });
  const metrics = useQuery({
    ...trpc.metrics.instance.queryOptions(
      choice.kind === 'preset'
        ? { projectId, instanceId, range: choice.range }
        : { projectId, instanceId, from: choice.from, to: choice.to },
    ),
    placeholderData: keepPreviousData,
  });

  return (
    <section aria-label="Monitoring" className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <RangePicker value={choice} onChange={setChoice} />
        {metrics.data && metrics.data.points.length > 0 ? (
          <p className="text-xs text-zinc-500">
            {metrics.data.points.length} points, one per {formatStep(metrics.data.stepSeconds)} (
            {RESOLUTION_TEXT[metrics.data.resolution]})
          </p>
        ) : null}
      </div>
      <PanelState
        variant="page"
        query={metrics}
        errorLabel="Could not load the metrics"
        loadingLabel="Loading metrics…"
      >
        {(data) => <MonitoringCharts metrics={data} isReplica={isReplica} />}
      </PanelState>
    </section>
  );
}
