'use client';

import { useQuery } from '@tanstack/react-query';
import { Plus, Server } from 'lucide-react';
import Link from 'next/link';

import { StatusBadge } from '~/components/instance/status-badge';
import { useLiveInstances } from '~/components/instance/use-live-instances';
import { buttonVariants } from '~/components/ui/button';
import { Card } from '~/components/ui/card';
import { EmptyState, PageHeader } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { formatDateTime } from '~/lib/utils';
import { useTRPC } from '~/trpc/react';

export function InstanceList({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const instances = useQuery(trpc.instance.list.queryOptions({ projectId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  useLiveInstances(projectId);
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
        actions={instances.data?.length ? createLink : null}
      />
      {instances.error ? (
        <p role="alert" className="text-sm text-red-600">
          Could not load instances: {instances.error.message}
        </p>
      ) : !instances.data ? (
        <p className="text-sm text-zinc-500">Loading instances…</p>
      ) : instances.data.length === 0 ? (
        <EmptyState
          icon={<Server />}
          title="No instances yet"
          description="An instance is a managed MariaDB server: created, secured, monitored and backed up for you."
          action={createLink}
        />
      ) : (
        <Card>
          <Table aria-label="Instances">
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Status</TH>
                <TH>Flavor</TH>
                <TH>Datastore</TH>
                <TH>Endpoint</TH>
                <TH>Created</TH>
              </tr>
            </THead>
            <TBody>
              {instances.data.map((instance) => (
                <TR key={instance.id}>
                  <TD>
                    <Link href={`/p/${projectId}/instances/${instance.id}`} className="font-medium text-zinc-900 hover:text-accent-700">
                      {instance.name}
                    </Link>
                  </TD>
                  <TD>
                    <StatusBadge status={instance.status} />
                  </TD>
                  <TD>
                    {instance.flavor.name} · {instance.volumeSizeGb} GB
                  </TD>
                  <TD>
                    {instance.datastore.name} {instance.datastore.version}
                  </TD>
                  <TD className="font-mono text-xs">{instance.host && instance.port ? `${instance.host}:${instance.port}` : '—'}</TD>
                  <TD>{formatDateTime(instance.createdAt)}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
        </Card>
      )}
    </>
  );
}
