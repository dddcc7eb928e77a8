'use client';

import { History } from 'lucide-react';
import Link from 'next/link';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { EmptyState } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import type { TimelineEntry } from '~/server/services/timeline/list-timeline';
import type { TimelineKind } from '~/lib/timeline-kinds';

const KIND_TONE: Record<
  TimelineKind,
  'neutral' | 'success' | 'progress' | 'warning' | 'danger' | 'accent'
> = {
  status: 'progress',
  task: 'neutral',
  fault: 'danger',
  backup: 'success',
  restore: 'success',
  resize: 'accent',
  configuration: 'accent',
  replication: 'warning',
};

const ACTOR_LABEL: Record<TimelineEntry['actor']['type'], string> = {
  user: '',
  api_token: 'API token ',
  system: '',
  guest: '',
};

function describeActor(actor: TimelineEntry['actor']): string {
  if (actor.type === 'system') return `Coffer (${actor.name})`;
  if (actor.type === 'api_token')
    return `${ACTOR_LABEL.api_token}${actor.name}${actor.email ? ` of ${actor.email}` : ''}`;
  return actor.name;
}

/** Timeline entries, newest first: time, kind, what happened, who caused it; "Load older" pages. */
export function TimelineTable({
  projectId,
  entries,
  showInstance = false,
  hasMore,
  isLoadingMore,
  onLoadMore,
}: {
  projectId: string;
  entries: TimelineEntry[];
  showInstance?: boolean;
  hasMore: boolean;
  isLoadingMore: boolean;
  onLoadMore: () => void;
}) {
  if (entries.length === 0) {
    return (
      <EmptyState
        icon={<History className="size-5" aria-hidden="true" />}
        title="Nothing recorded yet"
        description="Status changes, tasks, faults, backups, resizes, configuration and replication changes appear here as they happen."
      />
    );
  }
  return (
    <>
      <Table aria-label="Event timeline">
        <THead>
          <tr>
            <TH>Time</TH>
            {showInstance ? <TH>Instance</TH> : null}
            <TH>Kind</TH>
            <TH>What happened</TH>
            <TH>Caused by</TH>
          </tr>
        </THead>
        <TBody>
          {entries.map((entry) => (
            <TR key={entry.id}>
              <TD className="whitespace-nowrap text-zinc-500">
                <DateTime value={entry.at} />
              </TD>
              {showInstance ? (
                <TD>
                  {entry.instance ? (
                    <Link
                      href={`/p/${projectId}/instances/${entry.instance.id}`}
                      className="text-accent-700 hover:underline"
                    >
                      {entry.instance.name}
                    </Link>
                  ) : (
                    '—'
                  )}
                </TD>
              ) : null}
              <TD>
                <Badge tone={KIND_TONE[entry.kind]}>{entry.kind}</Badge>
              </TD>
              <TD className="break-words text-zinc-900">{entry.summary}</TD>
              <TD className="text-zinc-600">{describeActor(entry.actor)}</TD>
            </TR>
          ))}
        </TBody>
      </Table>
      {hasMore ? (
        <div className="border-t border-zinc-100 p-3 text-center">
          <Button variant="secondary" onClick={onLoadMore} isLoading={isLoadingMore}>
            Load older
          </Button>
        </div>
      ) : null}
    </>
  );
}
