'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { Card } from '~/components/ui/card';
import { Select } from '~/components/ui/field';
import { PanelState } from '~/components/ui/panel-state';
import { timelineKinds, type TimelineKind } from '~/lib/timeline-kinds';
import { useTRPC } from '~/trpc/react';
import { TimelineTable } from './timeline-table';

/**
 * The event timeline of one instance (with `instanceId`) or of the whole project, filtered by
 * kind, live: the project's change events re-read it (LiveProject, group "timeline").
 */
export function TimelinePanel({
  projectId,
  instanceId,
}: {
  projectId: string;
  instanceId?: string;
}) {
  const trpc = useTRPC();
  const [kind, setKind] = useState<TimelineKind | ''>('');
  const kinds = kind ? [kind] : undefined;
  const options = {
    getNextPageParam: (page: { nextCursor: string | null }) => page.nextCursor ?? undefined,
  };
  const instancePages = useInfiniteQuery({
    ...trpc.timeline.instance.infiniteQueryOptions(
      { projectId, instanceId: instanceId ?? '', kinds },
      options,
    ),
    enabled: !!instanceId,
  });
  const projectPages = useInfiniteQuery({
    ...trpc.timeline.project.infiniteQueryOptions({ projectId, kinds }, options),
    enabled: !instanceId,
  });
  const pages = instanceId ? instancePages : projectPages;

  return (
    <Card>
      <div className="flex items-center justify-end gap-2 border-b border-zinc-100 p-3">
        <label htmlFor="timeline-kind" className="text-sm text-zinc-500">
          Kind
        </label>
        <Select
          id="timeline-kind"
          className="h-8 w-44"
          value={kind}
          onChange={(event) => setKind(event.target.value as TimelineKind | '')}
        >
          <option value="">All kinds</option>
          {timelineKinds.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </Select>
      </div>
      <PanelState
        variant="page"
        className="p-4"
        query={pages}
        errorLabel="Could not load the timeline"
        loadingLabel="Loading the timeline…"
      >
        {(loaded) => (
          <TimelineTable
            projectId={projectId}
            entries={loaded.pages.flatMap((page) => page.entries)}
            showInstance={!instanceId}
            hasMore={pages.hasNextPage}
            isLoadingMore={pages.isFetchingNextPage}
            onLoadMore={() => void pages.fetchNextPage()}
          />
        )}
      </PanelState>
    </Card>
  );
}
