'use client';

import { useQuery } from '@tanstack/react-query';

import { formatValue } from '~/components/metrics/format';
import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { PanelState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { useTRPC } from '~/trpc/react';

/** Samples arrive every few seconds: re-read as often while the page is open. */
const REFRESH_MS = 10_000;

/** The busiest instances across projects (by their latest sample), for operators. */
export function BusiestInstances() {
  const trpc = useTRPC();
  const busiest = useQuery({
    ...trpc.metrics.busiest.queryOptions({ limit: 10 }),
    refetchInterval: REFRESH_MS,
  });

  return (
    <Card className="mt-6">
      <CardHeader>
        <CardTitle>Busiest instances</CardTitle>
        <CardDescription>Across every project, by their latest metrics sample.</CardDescription>
      </CardHeader>
      <PanelState
        variant="page"
        query={busiest}
        errorLabel="Could not read the busiest instances"
        className="px-5 py-4"
        empty={<p className="px-5 py-4 text-sm text-zinc-500">No instance has sent metrics yet.</p>}
      >
        {(list) => (
          <Table aria-label="Busiest instances">
            <THead>
              <tr>
                <TH>Instance</TH>
                <TH>Project</TH>
                <TH>CPU</TH>
                <TH>Queries</TH>
                <TH>Connections</TH>
                <TH>Volume used</TH>
              </tr>
            </THead>
            <TBody>
              {list.map((row) => (
                <TR key={row.instanceId} data-instance-id={row.instanceId}>
                  <TD className="font-medium text-zinc-900">{row.instanceName}</TD>
                  <TD>{row.projectName}</TD>
                  <TD className="tabular-nums">{formatValue(row.latest.cpuPercent, 'percent')}</TD>
                  <TD className="tabular-nums">
                    {formatValue(row.latest.queriesPerSec, 'perSecond')}
                  </TD>
                  <TD className="tabular-nums">{formatValue(row.latest.connections, 'count')}</TD>
                  <TD className="tabular-nums">
                    {row.latest.volumeUsedBytes !== null && row.latest.volumeTotalBytes
                      ? `${formatValue(row.latest.volumeUsedBytes, 'bytes')} of ${formatValue(row.latest.volumeTotalBytes, 'bytes')}`
                      : '—'}
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        )}
      </PanelState>
    </Card>
  );
}
