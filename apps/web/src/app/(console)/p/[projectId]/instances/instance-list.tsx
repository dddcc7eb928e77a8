'use client';

import { DISPLAY_STATUSES } from '@coffer/contracts';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Plus, Server } from 'lucide-react';
import Link from 'next/link';

import { StatusBadge } from '~/components/instance/status-badge';
import { AlertBadge, NeedsAttention } from '~/components/metrics/alerts';
import { Sparkline } from '~/components/metrics/sparkline';
import { VolumeUsageWarning } from '~/components/instance/volume-usage';
import { ReplicaBuildProgress } from '~/components/replication/replica-build-progress';
import { ReplicationStateBadge } from '~/components/replication/replication-state';
import { buttonVariants } from '~/components/ui/button';
import { Card } from '~/components/ui/card';
import { ListControls, ListPager, useListParams } from '~/components/ui/list-controls';
import { EmptyState, PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { INSTANCE_SORTS, instancePageInput, readInstanceListParams } from '~/lib/list-params';
import { useTRPC } from '~/trpc/react';

/** Sources (and standalone instances) in the API's order, each followed by its replicas. */
function withReplicasUnderSources<
  T extends { id: string; name: string; replication: { source: { id: string } | null } },
>(instances: T[]): Array<{ instance: T; isUnderSource: boolean }> {
  const ids = new Set(instances.map((instance) => instance.id));
  const rows: Array<{ instance: T; isUnderSource: boolean }> = [];
  for (const instance of instances) {
    const sourceId = instance.replication.source?.id;
    if (sourceId && ids.has(sourceId)) continue;
    rows.push({ instance, isUnderSource: false });
    const replicas = instances.filter(
      (candidate) => candidate.replication.source?.id === instance.id,
    );
    replicas.sort((a, b) => a.name.localeCompare(b.name));
    for (const replica of replicas) rows.push({ instance: replica, isUnderSource: true });
  }
  return rows;
}

const NO_MATCH = (
  <EmptyState
    icon={<Server />}
    title="No instance matches"
    description="Change the search or the status to see more."
  />
);

/**
 * The project's instances, a page at a time: searched, filtered and sorted on the server, the
 * view in the URL; a replica is shown under its source when both are on the page.
 */
export function InstanceList({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const list = useListParams(readInstanceListParams);
  const page = useQuery({
    ...trpc.instance.listPage.queryOptions(instancePageInput(projectId, list)),
    placeholderData: keepPreviousData,
  });
  const listed = page.data;
  const hasInstances = !!listed && (listed.total > 0 || list.isFiltered || list.page > 1);
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const metrics = useQuery(trpc.metrics.project.queryOptions({ projectId }));
  const alerts = useQuery(trpc.alerts.project.queryOptions({ projectId }));
  const sparkOf = new Map(metrics.data?.map((entry) => [entry.instanceId, entry.spark]));
  const alertsOf = new Map(alerts.data?.map((entry) => [entry.instanceId, entry.alerts]));
  const canCreate = project.data && project.data.role !== 'VIEWER';
  const createLink = canCreate ? (
    <Link href={`/p/${projectId}/instances/new`} className={buttonVariants()}>
      <Plus aria-hidden="true" />
      Create instance
    </Link>
  ) : null;

  return (
    <>
      <PageHeader
        title="Instances"
        description={project.data ? `Database servers in ${project.data.name}` : undefined}
        actions={hasInstances ? createLink : null}
      />
      {alerts.data ? <NeedsAttention projectId={projectId} entries={alerts.data} /> : null}
      {hasInstances ? (
        <ListControls
          list={list}
          label="Instances"
          searchPlaceholder="Name or id"
          statuses={DISPLAY_STATUSES}
          sorts={INSTANCE_SORTS}
        />
      ) : null}
      <PanelState
        variant="page"
        query={{ error: page.error, data: listed?.items }}
        errorLabel="Could not load instances"
        loadingLabel="Loading instances…"
        empty={
          hasInstances ? (
            NO_MATCH
          ) : (
            <EmptyState
              icon={<Server />}
              title="No instances yet"
              description="An instance is a managed MariaDB server: created, secured, monitored and backed up for you."
              action={createLink}
            />
          )
        }
      >
        {(rows) => (
          <Card>
            <Table aria-label="Instances">
              <THead>
                <tr>
                  <TH>Name</TH>
                  <TH>Status</TH>
                  <TH>Replication</TH>
                  <TH>Last hour</TH>
                  <TH>Flavor</TH>
                  <TH>Datastore</TH>
                  <TH>Endpoint</TH>
                  <TH>Created</TH>
                </tr>
              </THead>
              <TBody>
                {withReplicasUnderSources(rows).map(({ instance, isUnderSource }) => (
                  <TR key={instance.id} data-instance-id={instance.id}>
                    <TD className={isUnderSource ? 'pl-10' : undefined}>
                      {isUnderSource ? (
                        <span className="mr-1.5 text-zinc-400" aria-hidden="true">
                          ↳
                        </span>
                      ) : null}
                      <Link
                        href={`/p/${projectId}/instances/${instance.id}`}
                        className="font-medium text-zinc-900 hover:text-accent-700"
                      >
                        {instance.name}
                      </Link>
                    </TD>
                    <TD>
                      <span className="flex flex-wrap items-center gap-1.5">
                        <StatusBadge status={instance.status} />
                        <AlertBadge alerts={alertsOf.get(instance.id)} />
                      </span>
                    </TD>
                    <TD>
                      {instance.replication.role === 'REPLICA' ? (
                        <span className="flex flex-wrap items-center gap-1.5">
                          {instance.status === 'BUILD' ? (
                            <ReplicaBuildProgress projectId={projectId} replica={instance} />
                          ) : (
                            <ReplicationStateBadge
                              state={instance.replication.state}
                              lagSeconds={instance.replication.lagSeconds}
                            />
                          )}
                          {isUnderSource ? null : (
                            <span className="text-xs text-zinc-500">
                              of {instance.replication.source?.name}
                            </span>
                          )}
                        </span>
                      ) : instance.replication.role === 'SOURCE' ? (
                        <span className="text-zinc-600">
                          source · {instance.replication.replicaCount} replica
                          {instance.replication.replicaCount === 1 ? '' : 's'}
                        </span>
                      ) : (
                        <span className="text-zinc-400">—</span>
                      )}
                    </TD>
                    <TD>
                      {metrics.data ? <Sparkline points={sparkOf.get(instance.id) ?? []} /> : null}
                    </TD>
                    <TD>
                      {instance.flavor.name} · {instance.volumeSizeGb} GB
                      <VolumeUsageWarning usage={instance.volumeUsage} />
                    </TD>
                    <TD>
                      {instance.datastore.name} {instance.datastore.version}
                    </TD>
                    <TD className="font-mono text-xs">
                      {instance.host && instance.port ? `${instance.host}:${instance.port}` : '—'}
                    </TD>
                    <TD>
                      <DateTime value={instance.createdAt} />
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          </Card>
        )}
      </PanelState>
      <ListPager label="Instance pages" listed={listed} onPage={list.setPage} />
    </>
  );
}
