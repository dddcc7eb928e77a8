'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { Server } from 'lucide-react';
import { useState } from 'react';

import { describeQuery, LiveRefresher } from '~/components/console/live-refresh';
import { StatusBadge } from '~/components/instance/status-badge';

import { ACTIONS_COLUMN, QueryTable, RowActions } from '~/components/ui/data-table';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { EmptyState, PageHeader } from '~/components/ui/page';

import { TD, TR } from '~/components/ui/table';
import { useTRPC } from '~/trpc/react';

/** "12 s ago", "4 min ago", "3 h ago". */
function formatAge(seconds: number | null): string {
  if (seconds === null) return 'never';
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

const HEARTBEAT_REFRESH_MS = 10_000;

const NO_INSTANCES = (
  <EmptyState
    icon={<Server />}
    title="No instances in any project"
    description="Instances appear here as soon as a tenant creates one."
  />
);

type Action = { kind: 'reset' | 'delete'; instanceId: string; name: string };
const ACTIONS = [
  { kind: 'reset', label: 'Reset status' },
  { kind: 'delete', label: 'Force delete' },
] as const;

export function AdminInstances() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Heartbeats that change nothing visible are not pushed: re-read now and then for their age.
  const instances = useQuery({
    ...trpc.admin.instances.queryOptions(),
    refetchInterval: HEARTBEAT_REFRESH_MS,
  });
  const invalidate = () =>
    queryClient.invalidateQueries({ queryKey: trpc.admin.instances.queryKey() });
  // Changes in any project arrive over SSE; each has the list re-read (never starved by the next one).
  const [refresher] = useState(
    () =>
      new LiveRefresher(
        queryClient,
        (query) => describeQuery(query).path.join('.') === 'admin.instances',
      ),
  );
  useSubscription(
    trpc.admin.onInstanceChange.subscriptionOptions(undefined, {
      onStarted: () => refresher.refresh(['admin']),
      onData: () => refresher.refresh(['admin']),
    }),
  );

  const [action, setAction] = useState<Action | null>(null);
  const reset = useMutation(trpc.admin.resetStatus.mutationOptions({ onSuccess: invalidate }));
  const forceDelete = useMutation(
    trpc.admin.forceDelete.mutationOptions({ onSuccess: invalidate }),
  );

  return (
    <>
      <PageHeader
        title="All instances"
        description="Every instance in every project, with its health."
      />
      <QueryTable
        query={instances}
        errorLabel="Could not load instances"
        empty={NO_INSTANCES}
        label="All instances"
        columns={[
          'Instance',
          'Project',
          'Status',
          'Task',
          'Last heartbeat',
          'Guest',
          'Endpoint',
          'Fault',
          ACTIONS_COLUMN,
        ]}
      >
        {(instance) => (
          <TR key={instance.id} data-instance-id={instance.id}>
            <TD>
              <div className="font-medium text-zinc-900">{instance.name}</div>
              <div className="font-mono text-xs text-zinc-400">{instance.id.slice(0, 8)}</div>
            </TD>
            <TD>{instance.project.name}</TD>
            <TD>
              <StatusBadge status={instance.status} />
            </TD>
            <TD className="font-mono text-xs">
              {instance.taskStatus}
              <div className="text-zinc-400">{instance.serviceStatus}</div>
            </TD>
            <TD className="whitespace-nowrap">{formatAge(instance.heartbeatAgeSeconds)}</TD>
            <TD className="font-mono text-xs">{instance.guestVersion ?? '—'}</TD>
            <TD className="font-mono text-xs">
              {instance.host && instance.port ? `${instance.host}:${instance.port}` : '—'}
            </TD>
            <TD className="max-w-64 text-red-700">
              <div
                className="truncate"
                title={instance.faultDetails ?? instance.faultMessage ?? undefined}
              >
                {instance.faultMessage ?? ''}
              </div>
            </TD>
            <TD className="whitespace-nowrap text-right">
              <RowActions
                actions={ACTIONS.map(({ kind, label }) => ({
                  label,
                  onClick: () => setAction({ kind, instanceId: instance.id, name: instance.name }),
                }))}
              />
            </TD>
          </TR>
        )}
      </QueryTable>
      <MutationConfirmDialog
        target={action?.kind === 'reset' ? action : null}
        onClose={() => setAction(null)}
        mutation={reset}
        variables={(target) => ({ instanceId: target.instanceId })}
        tone="primary"
        title={(target) => `Reset the status of ${target.name}?`}
        description="The task goes back to none and the fault is cleared; the guest’s next heartbeat decides the status. Use it for an instance stuck in a task nobody runs any more."
        confirmLabel="Reset status"
      />
      <MutationConfirmDialog
        target={action?.kind === 'delete' ? action : null}
        onClose={() => setAction(null)}
        mutation={forceDelete}
        variables={(target) => ({ instanceId: target.instanceId })}
        title={(target) => `Force delete ${target.name}?`}
        description="The instance is deleted whatever it is doing: its server, its data and the row. This cannot be undone."
        confirmLabel="Force delete"
      />
    </>
  );
}
