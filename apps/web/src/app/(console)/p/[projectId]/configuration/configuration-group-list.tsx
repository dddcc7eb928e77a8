'use client';

import { datastoreDisplayName } from '@coffer/contracts';
import { useQuery } from '@tanstack/react-query';
import { Plus, SlidersHorizontal } from 'lucide-react';
import Link from 'next/link';

import { buttonVariants } from '~/components/ui/button';
import { QueryTable } from '~/components/ui/data-table';
import { EmptyState, PageHeader } from '~/components/ui/page';
import { TD, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { useTRPC } from '~/trpc/react';

/** The project's configuration groups: version, how many values, the instances using each. */
export function ConfigurationGroupList({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const groups = useQuery(trpc.configuration.list.queryOptions({ projectId }));
  const project = useQuery(trpc.project.get.queryOptions({ projectId }));
  const canWrite = !!project.data && project.data.role !== 'VIEWER';
  const createLink = canWrite ? (
    <Link href={`/p/${projectId}/configuration/new`} className={buttonVariants()}>
      <Plus aria-hidden="true" />
      Create group
    </Link>
  ) : null;

  return (
    <>
      <PageHeader
        title="Configuration groups"
        description="Named server settings for one datastore version, attached to instances from their Configuration tab."
        actions={groups.data?.length ? createLink : null}
      />
      <QueryTable
        query={groups}
        errorLabel="Could not load configuration groups"
        label="Configuration groups"
        columns={['Name', 'Datastore', 'Values', 'Instances', 'Updated']}
        empty={
          <EmptyState
            icon={<SlidersHorizontal />}
            title="No configuration groups yet"
            description="A group holds server settings (max_connections, long_query_time, sql_mode…) checked against the version's parameters, for any number of instances."
            action={createLink}
          />
        }
      >
        {(group) => {
          const count = Object.keys(group.values).length;
          return (
            <TR key={group.id} data-group-id={group.id}>
              <TD>
                <Link
                  href={`/p/${projectId}/configuration/${group.id}`}
                  className="font-medium text-zinc-900 hover:text-accent-700"
                >
                  {group.name}
                </Link>
                {group.description ? (
                  <p className="text-xs text-zinc-500">{group.description}</p>
                ) : null}
              </TD>
              <TD>
                {datastoreDisplayName(group.datastore)} {group.datastoreVersion}
              </TD>
              <TD>
                {count} value{count === 1 ? '' : 's'}
              </TD>
              <TD>
                {group.instances.length === 0 ? (
                  <span className="text-zinc-400">none</span>
                ) : (
                  group.instances.map((instance, index) => (
                    <span key={instance.id}>
                      {index > 0 ? ', ' : null}
                      <Link
                        href={`/p/${projectId}/instances/${instance.id}`}
                        className="text-accent-700 hover:underline"
                      >
                        {instance.name}
                      </Link>
                    </span>
                  ))
                )}
              </TD>
              <TD>
                <DateTime value={group.updatedAt} />
              </TD>
            </TR>
          );
        }}
      </QueryTable>
    </>
  );
}
