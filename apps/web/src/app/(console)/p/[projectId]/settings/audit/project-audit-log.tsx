'use client';

import { useInfiniteQuery } from '@tanstack/react-query';

import { AuditTable } from '~/components/console/audit-table';
import { useTRPC } from '~/trpc/react';

export function ProjectAuditLog({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const pages = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions({ projectId }, { getNextPageParam: (page) => page.nextCursor ?? undefined }),
  );
  if (pages.error) {
    return (
      <p role="alert" className="text-sm text-red-600">
        Could not load the audit log: {pages.error.message}
      </p>
    );
  }
  if (!pages.data) return <p className="text-sm text-zinc-500">Loading…</p>;
  return (
    <AuditTable
      events={pages.data.pages.flatMap((page) => page.events)}
      hasMore={pages.hasNextPage}
      isLoadingMore={pages.isFetchingNextPage}
      onLoadMore={() => void pages.fetchNextPage()}
    />
  );
}
