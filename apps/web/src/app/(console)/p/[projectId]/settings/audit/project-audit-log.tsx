'use client';

import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';

import {
  AuditFilters,
  hasAuditFilter,
  type AuditFilterValues,
} from '~/components/console/audit-filters';
import { AuditTable } from '~/components/console/audit-table';
import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';

export function ProjectAuditLog({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const [filter, setFilter] = useState<AuditFilterValues>({});
  const pages = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { projectId, ...filter },
      {
        getNextPageParam: (page) => page.nextCursor ?? undefined,
        placeholderData: keepPreviousData,
      },
    ),
  );
  return (
    <>
      <AuditFilters onChange={setFilter} />
      <PanelState variant="page" query={pages} errorLabel="Could not load the audit log">
        {(loaded) => (
          <AuditTable
            events={loaded.pages.flatMap((page) => page.events)}
            isFiltered={hasAuditFilter(filter)}
            hasMore={pages.hasNextPage}
            isLoadingMore={pages.isFetchingNextPage}
            onLoadMore={() => void pages.fetchNextPage()}
          />
        )}
      </PanelState>
    </>
  );
}
