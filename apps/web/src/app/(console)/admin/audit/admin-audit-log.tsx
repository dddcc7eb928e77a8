'use client';

import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import {
  AuditFilters,
  hasAuditFilter,
  type AuditFilterValues,
} from '~/components/console/audit-filters';
import { AuditTable } from '~/components/console/audit-table';
import { Field, Select } from '~/components/ui/field';
import { PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';

export function AdminAuditLog() {
  const trpc = useTRPC();
  const projects = useQuery(trpc.admin.projects.queryOptions());
  const [projectId, setProjectId] = useState<string>('');
  const [filter, setFilter] = useState<AuditFilterValues>({});
  const pages = useInfiniteQuery(
    trpc.admin.auditEvents.infiniteQueryOptions(
      { projectId: projectId || null, ...filter },
      {
        getNextPageParam: (page) => page.nextCursor ?? undefined,
        placeholderData: keepPreviousData,
      },
    ),
  );

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change made in any project, through the console or the API."
        actions={
          <Field label="Project" className="w-56">
            <Select value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              <option value="">All projects</option>
              {(projects.data ?? []).map((project) => (
                <option key={project.id} value={project.id}>
                  {project.name}
                </option>
              ))}
            </Select>
          </Field>
        }
      />
      <AuditFilters onChange={setFilter} />
      <PanelState variant="page" query={pages} errorLabel="Could not load the audit log">
        {(loaded) => (
          <AuditTable
            events={loaded.pages.flatMap((page) => page.events)}
            showProject
            isFiltered={!!projectId || hasAuditFilter(filter)}
            hasMore={pages.hasNextPage}
            isLoadingMore={pages.isFetchingNextPage}
            onLoadMore={() => void pages.fetchNextPage()}
          />
        )}
      </PanelState>
    </>
  );
}
