'use client';

import { useQuery } from '@tanstack/react-query';
import { CircleCheck, TriangleAlert } from 'lucide-react';
import Link from 'next/link';

import { QuotaMeters } from '~/components/console/usage-meter';
import { StatusBadge } from '~/components/instance/status-badge';
import { TimelineTable } from '~/components/timeline/timeline-table';
import { Card, CardContent, CardHeader, CardTitle } from '~/components/ui/card';
import { PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';

const linkClass = 'font-medium text-accent-700 underline-offset-2 hover:underline';

/**
 * The project at a glance (`project.dashboard`): instances by status, what needs attention,
 * usage against the quotas and the latest events. Live: the project's change events re-read it
 * (LiveProject).
 */
export function ProjectDashboard({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const dashboard = useQuery(trpc.project.dashboard.queryOptions({ projectId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const base = `/p/${projectId}`;

  return (
    <>
      <PageHeader
        title="Dashboard"
        description={project.data ? `${project.data.name} at a glance` : undefined}
      />
      <PanelState
        variant="page"
        query={dashboard}
        errorLabel="Could not load the dashboard"
        loadingLabel="Loading the dashboard…"
      >
        {({ instances, attention, quotas, recentEvents }) => (
          <div className="grid min-w-0 gap-6 md:grid-cols-2">
            <Card role="region" aria-labelledby="dashboard-instances">
              <CardHeader>
                <CardTitle id="dashboard-instances">Instances</CardTitle>
              </CardHeader>
              <CardContent className="space-y-3">
                <p className="text-sm text-zinc-600">
                  <Link href={`${base}/instances`} className={linkClass}>
                    {instances.total} {instances.total === 1 ? 'instance' : 'instances'}
                  </Link>
                </p>
                {instances.byStatus.length > 0 ? (
                  <ul aria-label="Instances by status" className="flex flex-wrap gap-3">
                    {instances.byStatus.map(({ status, count }) => (
                      <li
                        key={status}
                        aria-label={`${count} ${status}`}
                        className="flex items-center gap-1.5 text-sm"
                      >
                        <span className="font-semibold tabular-nums text-zinc-900">{count}</span>
                        <StatusBadge status={status} />
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="text-sm text-zinc-500">
                    No instances yet.{' '}
                    <Link href={`${base}/instances/new`} className={linkClass}>
                      Create one
                    </Link>
                  </p>
                )}
              </CardContent>
            </Card>

            <Card role="region" aria-labelledby="dashboard-attention">
              <CardHeader>
                <CardTitle id="dashboard-attention">Needs attention</CardTitle>
              </CardHeader>
              <CardContent>
                {attention.length === 0 ? (
                  <p className="flex items-center gap-2 text-sm text-zinc-600">
                    <CircleCheck className="size-4 text-emerald-600" aria-hidden="true" />
                    Nothing needs attention.
                  </p>
                ) : (
                  <ul aria-label="Instances that need attention" className="space-y-3 text-sm">
                    {attention.map((entry) => (
                      <li key={entry.instanceId} className="space-y-1">
                        <span className="flex flex-wrap items-center gap-2">
                          <TriangleAlert className="size-4 text-amber-600" aria-hidden="true" />
                          <Link
                            href={`${base}/instances/${entry.instanceId}`}
                            className={linkClass}
                          >
                            {entry.instanceName}
                          </Link>
                          <StatusBadge status={entry.status} />
                        </span>
                        <ul className="ml-6 list-disc break-words text-zinc-700">
                          {entry.problems.map((problem) => (
                            <li key={problem}>{problem}</li>
                          ))}
                          {entry.alerts.map((alert) => (
                            <li key={alert.kind}>{alert.message}</li>
                          ))}
                        </ul>
                      </li>
                    ))}
                  </ul>
                )}
              </CardContent>
            </Card>

            <Card role="region" aria-labelledby="dashboard-usage" className="md:col-span-2">
              <CardHeader>
                <CardTitle id="dashboard-usage">Usage</CardTitle>
              </CardHeader>
              <CardContent className="grid gap-4 sm:grid-cols-3">
                <QuotaMeters usage={quotas} />
              </CardContent>
            </Card>

            <Card
              role="region"
              aria-labelledby="dashboard-events"
              className="min-w-0 md:col-span-2"
            >
              <CardHeader className="flex items-baseline justify-between gap-3 space-y-0">
                <CardTitle id="dashboard-events">Recent events</CardTitle>
                <Link href={`${base}/events`} className={`${linkClass} text-sm`}>
                  All events
                </Link>
              </CardHeader>
              <TimelineTable
                projectId={projectId}
                entries={recentEvents}
                showInstance
                hasMore={false}
                isLoadingMore={false}
                onLoadMore={() => undefined}
              />
            </Card>
          </div>
        )}
      </PanelState>
    </>
  );
}
