'use client';

import { DISPLAY_STATUSES, type DisplayStatus } from '@coffer/contracts';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { Server } from 'lucide-react';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';

import { describeQuery, LiveRefresher } from '~/components/console/live-refresh';
import { StatusBadge } from '~/components/instance/status-badge';

import { ACTIONS_COLUMN, QueryTable, RowActions } from '~/components/ui/data-table';
import { Field, Input, Select } from '~/components/ui/field';
import { ListPager, useListParams } from '~/components/ui/list-controls';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { EmptyState, PageHeader } from '~/components/ui/page';

import { TD, TR } from '~/components/ui/table';
import {
  adminInstancesInput,
  INSTANCE_SORTS,
  readAdminInstanceListParams,
  readProjectFilter,
} from '~/lib/list-params';
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

const NO_MATCH = (
  <EmptyState
    icon={<Server />}
    title="No instance matches"
    description="Change the search or the filters to see more."
  />
);

const SORTS = INSTANCE_SORTS;
type SortKey = keyof typeof SORTS;

type Action = { kind: 'reset' | 'delete'; instanceId: string; name: string };
const ACTIONS = [
  { kind: 'reset', label: 'Reset status' },
  { kind: 'delete', label: 'Force delete' },
] as const;

export function AdminInstances() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The view (search, status, project, sort, page) is the URL's: a reload or a shared link
  // shows the same page; the server page prefetched exactly this input.
  const list = useListParams(readAdminInstanceListParams);
  const searchParams = useSearchParams();
  const projectId = readProjectFilter((name) => searchParams.get(name));
  const isFiltered = list.isFiltered || !!projectId;
  const projects = useQuery(trpc.admin.projects.queryOptions());
  // Heartbeats that change nothing visible are not pushed: re-read now and then for their age.
  const instances = useQuery({
    ...trpc.admin.instances.queryOptions(adminInstancesInput({ ...list, projectId })),
    refetchInterval: HEARTBEAT_REFRESH_MS,
    placeholderData: keepPreviousData,
  });
  const listed = instances.data;
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
        description="Every instance in every project, with its health. Open one to see it as its project does."
      />
      <div className="mb-3 flex flex-wrap items-end gap-3" role="search" aria-label="Instances">
        <Field label="Search" className="w-64">
          <Input {...list.searchBox} placeholder="Name, project or id" />
        </Field>
        <Field label="Status" className="w-44">
          <Select
            value={list.status}
            onChange={(e) => list.setStatus(e.target.value as DisplayStatus | '')}
          >
            <option value="">Any status</option>
            {DISPLAY_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Project" className="w-52">
          <Select value={projectId} onChange={(e) => list.setFilter('project', e.target.value)}>
            <option value="">All projects</option>
            {(projects.data ?? []).map((project) => (
              <option key={project.id} value={project.id}>
                {project.name}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Sort" className="w-44">
          <Select value={list.sortKey} onChange={(e) => list.setSortKey(e.target.value as SortKey)}>
            {Object.entries(SORTS).map(([key, { label }]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </Select>
        </Field>
      </div>
      <QueryTable
        query={{ error: instances.error, data: listed?.instances }}
        errorLabel="Could not load instances"
        empty={isFiltered ? NO_MATCH : NO_INSTANCES}
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
              <Link
                href={`/p/${instance.project.id}/instances/${instance.id}`}
                className="font-medium text-zinc-900 underline-offset-2 hover:text-accent-700 hover:underline"
              >
                {instance.name}
              </Link>
              <div className="font-mono text-xs text-zinc-400" title={instance.id}>
                {instance.id.slice(0, 8)}
              </div>
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
      <ListPager label="Instance pages" listed={listed} onPage={list.setPage} />
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
