'use client';

import { useQuery } from '@tanstack/react-query';
import { Server } from 'lucide-react';

import { StatusBadge } from '~/components/instance/status-badge';
import { Card } from '~/components/ui/card';
import { EmptyState, PageHeader } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { formatDateTime } from '~/lib/utils';
import { useTRPC } from '~/trpc/react';

export function AdminInstances() {
  const trpc = useTRPC();
  const instances = useQuery(trpc.admin.instances.queryOptions());
  return (
    <>
      <PageHeader title="All instances" description="Every instance in every project, with its health." />
      {!instances.data ? (
        <p className="text-sm text-zinc-500">Loading…</p>
      ) : instances.data.length === 0 ? (
        <EmptyState icon={<Server />} title="No instances in any project" description="Instances appear here as soon as a tenant creates one." />
      ) : (
        <Card>
          <Table aria-label="All instances">
            <THead>
              <tr>
                <TH>Instance</TH>
                <TH>Project</TH>
                <TH>Status</TH>
                <TH>Task</TH>
                <TH>Last heartbeat</TH>
                <TH>Endpoint</TH>
                <TH>Fault</TH>
              </tr>
            </THead>
            <TBody>
              {instances.data.map((instance) => (
                <TR key={instance.id}>
                  <TD className="font-medium text-zinc-900">{instance.name}</TD>
                  <TD>{instance.project.name}</TD>
                  <TD>
                    <StatusBadge status={instance.status} />
                  </TD>
                  <TD className="font-mono text-xs">{instance.taskStatus}</TD>
                  <TD>{instance.lastHeartbeatAt ? formatDateTime(instance.lastHeartbeatAt) : 'never'}</TD>
                  <TD className="font-mono text-xs">{instance.host && instance.port ? `${instance.host}:${instance.port}` : '—'}</TD>
                  <TD className="max-w-64 truncate text-red-700">{instance.faultMessage ?? ''}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
        </Card>
      )}
    </>
  );
}
