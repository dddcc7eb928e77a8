'use client';

import { useInfiniteQuery } from '@tanstack/react-query';

import { AuditTable } from '~/components/console/audit-table';
import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';

export function ProjectAuditLog({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const pages = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { projectId },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  return (
    <PanelState variant="page" query={pages} errorLabel="Could not load the audit log">
      {(loaded) => (
        <AuditTable
          events={loaded.pages.flatMap((page) => page.events)}
          hasMore={pages.hasNextPage}
          isLoadingMore={pages.isFetchingNextPage}
          onLoadMore={() => void pages.fetchNextPage()}
        />
      )}
    </PanelState>
  );
}
