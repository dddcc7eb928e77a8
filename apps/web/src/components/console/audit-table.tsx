'use client';

import { ScrollText } from 'lucide-react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card } from '~/components/ui/card';
import { EmptyState } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { formatDateTime } from '~/lib/utils';

export interface AuditEventRow {
  id: string;
  createdAt: Date;
  projectId: string | null;
  path: string;
  resourceId: string | null;
  result: string;
  errorCode: string | null;
  actor: { userId: string | null; email: string | null };
  apiToken: { id: string; name: string | null; prefix: string | null } | null;
}

/** Audit events, newest first, with "Load older" paging (the project's log and the operators' one). */
export function AuditTable({
  events,
  projectNames,
  hasMore,
  isLoadingMore,
  onLoadMore,
}: {
  events: AuditEventRow[];
  /** Operators' view: show each event's project. */
  projectNames?: Map<string, string>;
  hasMore: boolean;
  isLoadingMore: boolean;
  onLoadMore: () => void;
}) {
  if (events.length === 0) {
    return (
      <EmptyState
        icon={<ScrollText />}
        title="Nothing recorded yet"
        description="Every change made through the console or the API appears here."
      />
    );
  }
  return (
    <div className="space-y-3">
      <Card>
        <Table aria-label="Audit log">
          <THead>
            <tr>
              <TH>When</TH>
              <TH>Who</TH>
              {projectNames ? <TH>Project</TH> : null}
              <TH>Action</TH>
              <TH>Resource</TH>
              <TH>Result</TH>
            </tr>
          </THead>
          <TBody>
            {events.map((event) => (
              <TR key={event.id}>
                <TD className="whitespace-nowrap">{formatDateTime(event.createdAt)}</TD>
                <TD>
                  <div>{event.actor.email ?? 'unknown'}</div>
                  {event.apiToken ? (
                    <div className="text-xs text-zinc-500">
                      via API token{' '}
                      {event.apiToken.name
                        ? `“${event.apiToken.name}”`
                        : event.apiToken.id.slice(0, 8)}
                    </div>
                  ) : null}
                </TD>
                {projectNames ? (
                  <TD>
                    {event.projectId
                      ? (projectNames.get(event.projectId) ?? event.projectId.slice(0, 8))
                      : '—'}
                  </TD>
                ) : null}
                <TD className="font-mono text-xs">{event.path}</TD>
                <TD
                  className="max-w-48 truncate font-mono text-xs"
                  title={event.resourceId ?? undefined}
                >
                  {event.resourceId ?? '—'}
                </TD>
                <TD>
                  {event.result === 'OK' ? (
                    <Badge tone="success">OK</Badge>
                  ) : (
                    <Badge tone="danger">{event.errorCode ?? event.result}</Badge>
                  )}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      </Card>
      {hasMore ? (
        <div className="flex justify-center">
          <Button variant="secondary" onClick={onLoadMore} isLoading={isLoadingMore}>
            Load older events
          </Button>
        </div>
      ) : null}
    </div>
  );
}
