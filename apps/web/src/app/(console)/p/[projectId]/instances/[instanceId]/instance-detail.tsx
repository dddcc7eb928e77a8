'use client';

import { datastoreDisplayName, type DisplayStatus } from '@coffer/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { ArrowLeft, CircleX, RotateCw, Trash } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type ReactNode, useState } from 'react';

import { useProjectChanges } from '~/components/console/live-project';
import { AccessPanel } from '~/components/instance/access-panel';
import { ConnectPanel } from '~/components/instance/connect-panel';
import { DatabasesPanel } from '~/components/instance/databases-panel';
import { LogsPanel } from '~/components/instance/logs-panel';
import { ResizeActions } from '~/components/instance/resize-actions';
import { describeResize, detailValues } from '~/components/instance/resize-target';
import { InstanceBackupsPanel } from '~/components/backup/instance-backups-panel';
import { AlertBadge } from '~/components/metrics/alerts';
import { MonitoringPanel } from '~/components/metrics/monitoring-panel';
import { ConfigurationPanel } from '~/components/configuration/configuration-panel';
import { ReplicationPanel } from '~/components/replication/replication-panel';
import { TimelinePanel } from '~/components/timeline/timeline-panel';
import { ReplicationStateBadge } from '~/components/replication/replication-state';
import { RootPanel } from '~/components/instance/root-panel';
import { StatusBadge } from '~/components/instance/status-badge';
import { UsersPanel } from '~/components/instance/users-panel';
import { VolumeUsageBar } from '~/components/instance/volume-usage';
import { Alert } from '~/components/ui/alert';
import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '~/components/ui/card';
import { ConfirmDialog, Dialog } from '~/components/ui/dialog';
import { DateTime } from '~/components/ui/date-time';
import { PageHeader } from '~/components/ui/page';
import { Tabs } from '~/components/ui/tabs';
import { useTabParam } from '~/components/ui/use-tab-param';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

const BUSY: DisplayStatus[] = [
  'BUILD',
  'REBOOT',
  'RESIZE',
  'BACKUP',
  'PROMOTE',
  'EJECT',
  'DETACH',
  'DELETING',
];

const STATUS_TEXT: Partial<Record<DisplayStatus, string>> = {
  BUILD: 'Creating the server, its databases and users…',
  REBOOT: 'Restarting the database server…',
  RESTART_REQUIRED:
    'Configuration values wait for a restart of the database server (the Configuration tab says which).',
  RESIZE: 'Resizing: a new flavor restarts the database server; a volume grows online…',
  BACKUP: 'Making a backup (the database stays available)…',
  PROMOTE: 'Promoting a replica to source: writes pause for the switch…',
  EJECT: 'Ejecting the source: its most advanced replica takes over…',
  DETACH: 'Detaching the replica: it becomes a standalone instance…',
  DELETING: 'Deleting the server and its data…',
  SHUTDOWN: 'The database server is not running, or its guest stopped reporting.',
};

export function InstanceDetail({
  projectId,
  instanceId,
  initialUser,
}: {
  projectId: string;
  instanceId: string;
  initialUser: string;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const instance = useQuery(trpc.instance.get.queryOptions({ projectId, instanceId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const alerts = useQuery(trpc.alerts.instance.queryOptions({ projectId, instanceId }));
  useProjectChanges((change) => {
    if (change.type === 'instance.deleted' && change.instanceId === instanceId)
      router.push(`/p/${projectId}/instances`);
  });

  const [tab, setTab] = useTabParam('overview');
  const [isDeleteOpen, setIsDeleteOpen] = useState(false);
  const [isRestartOpen, setIsRestartOpen] = useState(false);
  const restart = useMutation(
    trpc.instance.restart.mutationOptions({ onSuccess: () => setIsRestartOpen(false) }),
  );
  const remove = useMutation(
    trpc.instance.delete.mutationOptions({ onSuccess: () => setIsDeleteOpen(false) }),
  );

  if (instance.error) {
    return (
      <div className="space-y-4">
        <p role="alert" className="text-sm text-red-600">
          {instance.error.data?.code === 'NOT_FOUND'
            ? 'This instance does not exist or was deleted.'
            : instance.error.message}
        </p>
        <Link
          href={`/p/${projectId}/instances`}
          className="text-sm text-accent-700 hover:underline"
        >
          Back to instances
        </Link>
      </div>
    );
  }
  const data = instance.data;
  if (!data) return <p className="text-sm text-zinc-500">Loading…</p>;

  const canWrite = project.data && project.data.role !== 'VIEWER';
  const panelProps = { projectId, instanceId, status: data.status, canWrite: !!canWrite };
  const isBusy = BUSY.includes(data.status);
  const sizes = detailValues(data, data.resize);

  const overview = (
    <div className="grid gap-6 lg:grid-cols-3">
      <ConnectPanel
        className="lg:col-span-2"
        projectId={projectId}
        instanceId={instanceId}
        status={data.status}
        host={data.host}
        port={data.port}
        initialUser={initialUser}
      />
      <Card>
        <CardHeader>
          <CardTitle>Details</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="space-y-2.5 text-sm">
            {(
              [
                ['Flavor', sizes.flavor],
                ['Volume', sizes.volume],
                ['Datastore', `${data.datastore.name} ${data.datastore.version}`],
                ['Created', <DateTime key="created" value={data.createdAt} />],
                [
                  'Last heartbeat',
                  data.lastHeartbeatAt ? (
                    <DateTime key="heartbeat" value={data.lastHeartbeatAt} />
                  ) : (
                    'none yet'
                  ),
                ],
                ['Guest agent', data.guestVersion ?? '—'],
                [
                  'Replication',
                  data.replication.role === 'REPLICA'
                    ? `replica of ${data.replication.source?.name ?? '—'}`
                    : data.replication.role === 'SOURCE'
                      ? `source of ${data.replication.replicaCount} replica${data.replication.replicaCount === 1 ? '' : 's'}`
                      : 'none',
                ],
                ['ID', data.id],
              ] as [string, ReactNode][]
            ).map(([label, value]) => (
              <div key={label} className="flex justify-between gap-4">
                <dt className="text-zinc-500">{label}</dt>
                <dd className="truncate text-right text-zinc-900">{value}</dd>
              </div>
            ))}
          </dl>
          <div className="mt-4 border-t border-zinc-100 pt-4">
            <VolumeUsageBar sizeGb={data.volumeSizeGb} usage={data.volumeUsage} />
          </div>
        </CardContent>
      </Card>
    </div>
  );

  return (
    <>
      <Link
        href={`/p/${projectId}/instances`}
        className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800"
      >
        <ArrowLeft className="size-4" aria-hidden="true" />
        Instances
      </Link>
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-x-3 gap-y-1">
            {data.name}
            <StatusBadge status={data.status} />
            {data.replication.role === 'REPLICA' ? <Badge tone="accent">Replica</Badge> : null}
            {data.replication.role === 'REPLICA' && data.status === 'ACTIVE' ? (
              <ReplicationStateBadge
                state={data.replication.state}
                lagSeconds={data.replication.lagSeconds}
              />
            ) : null}
            <AlertBadge alerts={alerts.data} />
          </span>
        }
        description={
          (data.status === 'RESIZE' && data.resize ? describeResize(data.resize) : null) ??
          STATUS_TEXT[data.status] ??
          `${datastoreDisplayName(data.datastore.name)} ${data.datastore.version}`
        }
        actions={
          canWrite ? (
            <>
              <ResizeActions projectId={projectId} instance={data} />
              <Button
                variant="secondary"
                onClick={() => setIsRestartOpen(true)}
                isLoading={restart.isPending}
                disabled={isBusy || data.status === 'ERROR'}
              >
                <RotateCw aria-hidden="true" />
                Restart
              </Button>
              <Button
                variant="danger"
                onClick={() => setIsDeleteOpen(true)}
                disabled={data.status === 'DELETING'}
              >
                <Trash aria-hidden="true" />
                Delete
              </Button>
            </>
          ) : null
        }
      />
      {restart.error && !isRestartOpen ? (
        <p role="alert" className="mb-4 text-sm text-red-600">
          {describeError(restart.error).message}
        </p>
      ) : null}
      {data.replication.state === 'BROKEN' && data.status === 'ACTIVE' ? (
        <Alert
          icon={CircleX}
          className="mb-6 p-4"
          title={`Replication is broken: this replica still serves reads, but no longer follows ${data.replication.source?.name ?? ''}`}
        >
          <p className="mt-1 break-words font-mono text-xs">{data.replication.error}</p>
        </Alert>
      ) : null}
      {data.status !== 'ERROR' && data.faultMessage ? (
        <p
          role="status"
          className="mb-6 rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900"
        >
          {data.faultMessage}
        </p>
      ) : null}
      {data.status === 'ERROR' ? (
        <Alert icon={CircleX} className="mb-6 p-4" title="This instance is in ERROR">
          <p className="mt-1">{data.faultMessage ?? 'No fault was recorded.'}</p>
        </Alert>
      ) : null}

      <Tabs
        label="Instance sections"
        value={tab}
        onValueChange={setTab}
        items={[
          { value: 'overview', label: 'Overview', content: overview },
          {
            value: 'monitoring',
            label: 'Monitoring',
            content: (
              <MonitoringPanel
                projectId={projectId}
                instanceId={instanceId}
                isReplica={data.replication.role === 'REPLICA'}
              />
            ),
          },
          {
            value: 'databases',
            label: 'Databases',
            content: <DatabasesPanel {...panelProps} />,
          },
          {
            value: 'users',
            label: 'Users',
            content: <UsersPanel {...panelProps} />,
          },
          {
            value: 'root',
            label: 'Root',
            content: <RootPanel {...panelProps} />,
          },
          {
            value: 'network',
            label: 'Network',
            content: (
              <AccessPanel
                key={`${data.isPublic}:${data.allowedCidrs.join(',')}`}
                projectId={projectId}
                instance={data}
                canWrite={!!canWrite}
              />
            ),
          },
          {
            value: 'replication',
            label: 'Replication',
            content: (
              <ReplicationPanel projectId={projectId} instance={data} canWrite={!!canWrite} />
            ),
          },
          {
            value: 'configuration',
            label: 'Configuration',
            content: <ConfigurationPanel {...panelProps} />,
          },
          {
            value: 'backups',
            label: 'Backups',
            content: (
              <InstanceBackupsPanel
                {...panelProps}
                backupStrategy={data.datastore.backupStrategy}
              />
            ),
          },
          {
            value: 'logs',
            label: 'Logs',
            content: <LogsPanel {...panelProps} />,
          },
          {
            value: 'events',
            label: 'Events',
            content: <TimelinePanel projectId={projectId} instanceId={instanceId} />,
          },
        ]}
      />

      <ConfirmDialog
        open={isRestartOpen}
        onClose={() => {
          setIsRestartOpen(false);
          restart.reset();
        }}
        title={`Restart ${data.name}?`}
        description="The database server stops and starts again: open connections are dropped and it does not answer for a few seconds."
        confirmLabel="Restart"
        tone="primary"
        isPending={restart.isPending}
        error={restart.error ? describeError(restart.error).message : null}
        onConfirm={() => restart.mutate({ projectId, instanceId })}
      />
      {data.replication.role === 'SOURCE' && data.replication.replicaCount > 0 ? (
        // The server refuses to delete a source with replicas: say so instead of asking.
        <Dialog
          open={isDeleteOpen}
          onClose={() => setIsDeleteOpen(false)}
          title={`${data.name} cannot be deleted yet`}
          description={`It is the source of ${data.replication.replicaCount} replica${data.replication.replicaCount === 1 ? '' : 's'}, which would be left following nothing: promote one, or detach or delete ${data.replication.replicaCount === 1 ? 'it' : 'them'} (Replication tab), first.`}
        >
          <div className="flex justify-end">
            <Button variant="secondary" onClick={() => setIsDeleteOpen(false)}>
              Close
            </Button>
          </div>
        </Dialog>
      ) : null}
      <ConfirmDialog
        open={
          isDeleteOpen && !(data.replication.role === 'SOURCE' && data.replication.replicaCount > 0)
        }
        onClose={() => {
          setIsDeleteOpen(false);
          remove.reset();
        }}
        title={`Delete ${data.name}?`}
        description={
          data.replication.role === 'REPLICA'
            ? `This replica's server and its volume are removed; its source ${data.replication.source?.name ?? ''} is not touched. This cannot be undone.`
            : 'The server, its databases and all data on its volume are removed. This cannot be undone.'
        }
        confirmLabel="Delete instance"
        isPending={remove.isPending}
        error={remove.error ? describeError(remove.error).message : null}
        onConfirm={() => remove.mutate({ projectId, instanceId })}
      />
    </>
  );
}
