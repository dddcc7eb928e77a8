'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { type inferRouterOutputs } from '@trpc/server';
import { CircleAlert, Copy, GitBranch, Unlink, Zap } from 'lucide-react';
import Link from 'next/link';
import { useState } from 'react';

import { StatusBadge } from '~/components/instance/status-badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { ConfirmDialog } from '~/components/ui/dialog';
import { CardEmptyState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { type AppRouter } from '~/server/api/root';
import { useTRPC } from '~/trpc/react';
import { CreateReplicasDialog } from './create-replicas-dialog';
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
  const close = () => {
    setPending(null);
    promote.reset();
    detach.reset();
    eject.reset();
  };
  const promote = useMutation(
    trpc.replica.promote.mutationOptions({ onSuccess: () => setPending(null) }),
  );
  const detach = useMutation(
    trpc.replica.detach.mutationOptions({ onSuccess: () => setPending(null) }),
  );
  const eject = useMutation(
    trpc.replica.eject.mutationOptions({ onSuccess: () => setPending(null) }),
  );
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
            <div
              role="alert"
              className="flex gap-3 rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800"
            >
              <CircleAlert className="mt-0.5 size-5 shrink-0" aria-hidden="true" />
              <div>
                <p className="font-medium">
                  Replication is broken: this replica no longer follows {replication.source.name}
                </p>
                <p className="mt-1 break-words font-mono text-xs">{replication.error}</p>
              </div>
            </div>
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
        <Table aria-label="Replicas">
          <THead>
            <tr>
              <TH>Name</TH>
              <TH>Status</TH>
              <TH>Replication</TH>
              <TH>Attached by</TH>
              {canWrite ? <TH className="text-right">Actions</TH> : null}
            </tr>
          </THead>
          <TBody>
            {replicas.map((replica) => (
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
                    <span className="text-zinc-500">being built</span>
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
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Promote ${replica.name}`}
                      disabled={replica.status !== 'ACTIVE' || instance.status !== 'ACTIVE'}
                      onClick={() => setPending({ kind: 'promote', replica, source: instance })}
                    >
                      <Zap aria-hidden="true" />
                      Promote
                    </Button>
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Detach ${replica.name}`}
                      disabled={replica.status !== 'ACTIVE'}
                      onClick={() => setPending({ kind: 'detach', replica, source: instance })}
                    >
                      <Unlink aria-hidden="true" />
                      Detach
                    </Button>
                  </TD>
                ) : null}
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  ) : null;

  return (
    <div className="max-w-4xl space-y-6">
      {replicaCard}
      {sourceCard}
      {!isReplica ? (
        <CreateReplicasDialog
          projectId={projectId}
          source={{ id: instance.id, name: instance.name, strategy: replication.strategy }}
          open={isCreateOpen}
          onClose={() => setIsCreateOpen(false)}
        />
      ) : null}
      <ConfirmDialog
        open={pending?.kind === 'promote'}
        onClose={close}
        tone="primary"
        title={pending?.kind === 'promote' ? `Promote ${pending.replica.name} to source?` : ''}
        description={
          pending?.kind === 'promote' ? (
            <div className="space-y-2">
              <p>
                Writes stop on {pending.source.name} (those under way finish);{' '}
                {pending.replica.name} applies everything {pending.source.name} acknowledged, then
                takes writes. {pending.source.name} and the other replicas then replicate from{' '}
                {pending.replica.name}. No acknowledged transaction is lost.
              </p>
              <p>
                Writes are refused for the moment of the switch. Point your applications at{' '}
                {pending.replica.name}&apos;s address.
              </p>
            </div>
          ) : (
            ''
          )
        }
        confirmLabel="Promote to source"
        isPending={promote.isPending}
        error={promote.error ? describeError(promote.error).message : null}
        onConfirm={() =>
          pending?.kind === 'promote' &&
          promote.mutate({ projectId, instanceId: pending.replica.id })
        }
      />
      <ConfirmDialog
        open={pending?.kind === 'detach'}
        onClose={close}
        title={pending?.kind === 'detach' ? `Detach ${pending.replica.name}?` : ''}
        description={
          pending?.kind === 'detach'
            ? `${pending.replica.name} stops replicating from ${pending.source.name} for good and becomes a standalone, writable instance with the data it has now. Changes made on ${pending.source.name} afterwards no longer reach it, and it cannot be attached again (create a new replica instead).`
            : ''
        }
        confirmLabel="Detach replica"
        isPending={detach.isPending}
        error={detach.error ? describeError(detach.error).message : null}
        onConfirm={() =>
          pending?.kind === 'detach' && detach.mutate({ projectId, instanceId: pending.replica.id })
        }
      />
      <ConfirmDialog
        open={pending?.kind === 'eject'}
        onClose={close}
        title={pending?.kind === 'eject' ? `Eject ${pending.source.name}?` : ''}
        description={
          pending?.kind === 'eject'
            ? `The replica that has applied the most (by GTID position) becomes the source and takes writes; the other replicas follow it. ${pending.source.name} leaves the replication set: transactions it acknowledged but never sent are lost, and if it comes back it stays apart. Eject only a source that is really gone.`
            : ''
        }
        confirmLabel="Eject source"
        isPending={eject.isPending}
        error={eject.error ? describeError(eject.error).message : null}
        onConfirm={() =>
          pending?.kind === 'eject' && eject.mutate({ projectId, instanceId: pending.source.id })
        }
      />
    </div>
  );
}
