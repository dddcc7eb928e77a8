'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { type inferRouterOutputs } from '@trpc/server';
import { CircleAlert, Copy, GitBranch, Unlink, Zap } from 'lucide-react';
import Link from 'next/link';
import { useState } from 'react';

import { StatusBadge } from '~/components/instance/status-badge';
import { Alert } from '~/components/ui/alert';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { ACTIONS_COLUMN, DataTable, RowActions } from '~/components/ui/data-table';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { CardEmptyState } from '~/components/ui/panel-state';
import { TD, TR } from '~/components/ui/table';
import { type AppRouter } from '~/server/api/root';
import { useTRPC } from '~/trpc/react';
import { CreateReplicasDialog } from './create-replicas-dialog';
import { ReplicaBuildProgress } from './replica-build-progress';
import { formatLag, ReplicationStateBadge } from './replication-state';

type Instance = inferRouterOutputs<AppRouter>['instance']['get'];

type Pending =
  | { kind: 'promote'; replica: { id: string; name: string }; source: { id: string; name: string } }
  | { kind: 'detach'; replica: { id: string; name: string }; source: { id: string; name: string } }
  | { kind: 'eject'; source: { id: string; name: string } };

/**
 * An instance's replication (Trove's replicas): a source with its replicas listed live (state
 * and lag from their heartbeats), or a replica with its source; creating replicas, promoting,
 * detaching and ejecting, each after a confirmation that says what will happen.
 */
export function ReplicationPanel({
  projectId,
  instance,
  canWrite,
}: {
  projectId: string;
  instance: Instance;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const instances = useQuery(trpc.instance.list.queryOptions({ projectId }));
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [pending, setPending] = useState<Pending | null>(null);
  const close = () => setPending(null);
  const promote = useMutation(trpc.replica.promote.mutationOptions());
  const detach = useMutation(trpc.replica.detach.mutationOptions());
  const eject = useMutation(trpc.replica.eject.mutationOptions());
  const pendingOf = <K extends Pending['kind']>(kind: K) =>
    pending?.kind === kind ? (pending as Extract<Pending, { kind: K }>) : null;
  const { replication } = instance;
  const replicas = (instances.data ?? []).filter(
    (candidate) => candidate.replication.source?.id === instance.id,
  );
  const isReplica = replication.role === 'REPLICA';
  const isGone = instance.status === 'SHUTDOWN' || instance.status === 'ERROR';

  const replicaCard =
    isReplica && replication.source ? (
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <Copy className="size-5 text-zinc-500" aria-hidden="true" />
            Read-only replica
          </CardTitle>
          <CardDescription>
            Replicates from{' '}
            <Link
              href={`/p/${projectId}/instances/${replication.source.id}`}
              className="font-medium text-accent-700 hover:underline"
            >
              {replication.source.name}
            </Link>
            : every change made there arrives here. Read from it; write to the source.
          </CardDescription>
        </CardHeader>
        <CardContent className="space-y-4">
          {instance.status === 'BUILD' ? (
            <ReplicaBuildProgress projectId={projectId} replica={instance} />
          ) : null}
          <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
            <div>
              <dt className="text-zinc-500">Replication</dt>
              <dd className="mt-0.5" aria-label="Replication state">
                <ReplicationStateBadge
                  state={replication.state}
                  lagSeconds={replication.lagSeconds}
                />
              </dd>
            </div>
            <div>
              <dt className="text-zinc-500">Lag</dt>
              <dd className="mt-0.5 text-zinc-900">
                {replication.state === 'REPLICATING' ? formatLag(replication.lagSeconds) : '—'}
              </dd>
            </div>
            <div>
              <dt className="text-zinc-500">Attached by</dt>
              <dd className="mt-0.5 text-zinc-900">
                {replication.mode === 'BINLOG'
                  ? 'binlog file and position'
                  : replication.mode === 'GTID'
                    ? 'GTID'
                    : '—'}
              </dd>
            </div>
            <div>
              <dt className="text-zinc-500">GTID position</dt>
              <dd className="mt-0.5 truncate font-mono text-zinc-900">
                {replication.gtidPosition || '—'}
              </dd>
            </div>
          </dl>
          {replication.state === 'BROKEN' ? (
            <Alert
              icon={CircleAlert}
              className="p-3"
              title={`Replication is broken: this replica no longer follows ${replication.source.name}`}
            >
              <p className="mt-1 break-words font-mono text-xs">{replication.error}</p>
            </Alert>
          ) : null}
          {canWrite ? (
            <div className="flex flex-wrap gap-2">
              <Button
                disabled={instance.status !== 'ACTIVE'}
                onClick={() =>
                  setPending({ kind: 'promote', replica: instance, source: replication.source! })
                }
              >
                <Zap aria-hidden="true" />
                Promote to source
              </Button>
              <Button
                variant="secondary"
                disabled={instance.status !== 'ACTIVE'}
                onClick={() =>
                  setPending({ kind: 'detach', replica: instance, source: replication.source! })
                }
              >
                <Unlink aria-hidden="true" />
                Detach
              </Button>
            </div>
          ) : null}
        </CardContent>
      </Card>
    ) : null;

  const sourceCard = !isReplica ? (
    <Card>
      <CardHeader className="flex flex-row items-start justify-between gap-4">
        <div className="space-y-1.5">
          <CardTitle className="flex items-center gap-2">
            <GitBranch className="size-5 text-zinc-500" aria-hidden="true" />
            Replicas
          </CardTitle>
          <CardDescription>
            Read-only copies of {instance.name} that follow every change, attached{' '}
            {replication.strategy === 'GTID' ? 'by GTID' : 'by binary log file and position'}.
            Promote one to make it the source; detach one to make it a standalone instance.
          </CardDescription>
        </div>
        {canWrite ? (
          <Button onClick={() => setIsCreateOpen(true)} disabled={instance.status !== 'ACTIVE'}>
            Create replica
          </Button>
        ) : null}
      </CardHeader>
      {isGone && replicas.length > 0 ? (
        <CardContent>
          <div
            role="alert"
            className="flex flex-wrap items-center gap-3 rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900"
          >
            <CircleAlert className="size-5 shrink-0" aria-hidden="true" />
            <p className="flex-1">
              {instance.name} is {instance.status}: its replicas have no source to follow. If it is
              gone for good, eject it: the most advanced replica takes over.
            </p>
            {canWrite ? (
              <Button
                variant="danger"
                size="sm"
                onClick={() => setPending({ kind: 'eject', source: instance })}
              >
                Eject source
              </Button>
            ) : null}
          </div>
        </CardContent>
      ) : null}
      {replicas.length === 0 ? (
        <CardEmptyState
          icon={<GitBranch />}
          title="No replicas"
          description="A replica serves reads, and can take over as the source."
        />
      ) : (
        <DataTable
          label="Replicas"
          columns={['Name', 'Status', 'Replication', 'Attached by', canWrite && ACTIONS_COLUMN]}
          rows={replicas}
        >
          {(replica) => (
            <TR key={replica.id} data-replica-id={replica.id}>
              <TD>
                <Link
                  href={`/p/${projectId}/instances/${replica.id}`}
                  className="font-medium text-zinc-900 hover:text-accent-700"
                >
                  {replica.name}
                </Link>
              </TD>
              <TD>
                <StatusBadge status={replica.status} />
              </TD>
              <TD>
                {replica.status === 'BUILD' ? (
                  <ReplicaBuildProgress projectId={projectId} replica={replica} />
                ) : (
                  <ReplicationStateBadge
                    state={replica.replication.state}
                    lagSeconds={replica.replication.lagSeconds}
                  />
                )}
                {replica.replication.state === 'BROKEN' ? (
                  <p className="mt-1 max-w-md break-words font-mono text-xs text-red-700">
                    {replica.replication.error}
                  </p>
                ) : null}
              </TD>
              <TD>
                {replica.replication.mode === 'BINLOG'
                  ? 'binlog position'
                  : replica.replication.mode === 'GTID'
                    ? 'GTID'
                    : '—'}
              </TD>
              {canWrite ? (
                <TD className="space-x-1 text-right">
                  <RowActions
                    actions={[
                      {
                        label: 'Promote',
                        icon: Zap,
                        'aria-label': `Promote ${replica.name}`,
                        disabled: replica.status !== 'ACTIVE' || instance.status !== 'ACTIVE',
                        onClick: () => setPending({ kind: 'promote', replica, source: instance }),
                      },
                      {
                        label: 'Detach',
                        icon: Unlink,
                        'aria-label': `Detach ${replica.name}`,
                        disabled: replica.status !== 'ACTIVE',
                        onClick: () => setPending({ kind: 'detach', replica, source: instance }),
                      },
                    ]}
                  />
                </TD>
              ) : null}
            </TR>
          )}
        </DataTable>
      )}
    </Card>
  ) : null;

  return (
    <div className="max-w-4xl space-y-6">
      {replicaCard}
      {sourceCard}
      {!isReplica && isCreateOpen ? (
        <CreateReplicasDialog
          projectId={projectId}
          source={{ id: instance.id, name: instance.name, strategy: replication.strategy }}

          onClose={() => setIsCreateOpen(false)}
        />
      ) : null}
      <MutationConfirmDialog
        target={pendingOf('promote')}
        onClose={close}
        mutation={promote}
        variables={(target) => ({ projectId, instanceId: target.replica.id })}
        tone="primary"
        title={(target) => `Promote ${target.replica.name} to source?`}
        description={({ replica, source }) => (
          <div className="space-y-2">
            <p>
              Writes stop on {source.name} (those under way finish); {replica.name} applies
              everything {source.name} acknowledged, then takes writes. {source.name} and the other
              replicas then replicate from {replica.name}. No acknowledged transaction is lost.
            </p>
            <p>
              Writes are refused for the moment of the switch. Point your applications at{' '}
              {replica.name}&apos;s address.
            </p>
          </div>
        )}
        confirmLabel="Promote to source"
      />
      <MutationConfirmDialog
        target={pendingOf('detach')}
        onClose={close}
        mutation={detach}
        variables={(target) => ({ projectId, instanceId: target.replica.id })}
        title={(target) => `Detach ${target.replica.name}?`}
        description={({ replica, source }) =>
          `${replica.name} stops replicating from ${source.name} for good and becomes a standalone, writable instance with the data it has now. Changes made on ${source.name} afterwards no longer reach it, and it cannot be attached again (create a new replica instead).`
        }
        confirmLabel="Detach replica"
      />
      <MutationConfirmDialog
        target={pendingOf('eject')}
        onClose={close}
        mutation={eject}
        variables={(target) => ({ projectId, instanceId: target.source.id })}
        title={(target) => `Eject ${target.source.name}?`}
        description={({ source }) =>
          `The replica that has applied the most (by GTID position) becomes the source and takes writes; the other replicas follow it. ${source.name} leaves the replication set: transactions it acknowledged but never sent are lost, and if it comes back it stays apart. Eject only a source that is really gone.`
        }
        confirmLabel="Eject source"
      />
    </div>
  );
}
