'use client';

import { ScrollText } from 'lucide-react';
import Link from 'next/link';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card } from '~/components/ui/card';
import { DateTime } from '~/components/ui/date-time';
import { EmptyState } from '~/components/ui/page';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { auditActionLabel, auditOutcome } from '~/lib/audit-labels';

export interface AuditEventRow {
  id: string;
  createdAt: Date;
  projectId: string | null;
  projectName: string | null;
  path: string;
  resourceId: string | null;
  resource: { kind: string; name: string; projectId: string | null } | null;
  result: string;
  errorCode: string | null;
  details?: {
    changes?: { field: string; from?: unknown; to?: unknown }[];
    [key: string]: unknown;
  } | null;
  actor: { userId: string | null; email: string | null };
  apiToken: { id: string; name: string | null; prefix: string | null } | null;
}

const RESOURCE_KINDS: Record<string, string> = {
  instance: 'Instance',
  backup: 'Backup',
  project: 'Project',
  apiToken: 'API token',
  member: 'Member',
  flavor: 'Flavor',
  configurationGroup: 'Configuration group',
  invitation: 'Invitation',
};

function Resource({ event }: { event: AuditEventRow }) {
  const { resource, resourceId } = event;
  if (!resourceId) return <span className="text-zinc-400">—</span>;
  if (!resource) {
    return (
      <span className="block max-w-48 truncate font-mono text-xs" title={resourceId}>
        {resourceId}
      </span>
    );
  }
  const name =
    resource.kind === 'instance' && resource.projectId ? (
      <Link
        href={`/p/${resource.projectId}/instances/${resourceId}`}
        className="font-medium underline-offset-2 hover:underline"
      >
        {resource.name}
      </Link>
    ) : (
      <span className="font-medium">{resource.name}</span>
    );
  return (
    <div title={`${RESOURCE_KINDS[resource.kind] ?? resource.kind} ${resourceId}`}>
      <div className="text-xs text-zinc-500">{RESOURCE_KINDS[resource.kind] ?? resource.kind}</div>
      {name}
    </div>
  );
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What an action changed, as recorded: "instances quota: 10 (default) → 20", then any other values. */
function Details({ details }: { details: AuditEventRow['details'] }) {
  if (!details) return null;
  const { changes = [], ...rest } = details;
  const others = Object.entries(rest).filter(([, value]) => value !== undefined);
  if (changes.length === 0 && others.length === 0) return null;
  return (
    <ul className="mt-1 space-y-0.5 text-xs text-zinc-600" aria-label="Details">
      {changes.map((change) => (
        <li key={change.field}>
          <span className="text-zinc-500">{change.field}:</span>{' '}
          {change.from === null || change.from === undefined ? (
            show(change.to)
          ) : (
            <>
              {show(change.from)} → {show(change.to)}
            </>
          )}
        </li>
      ))}
      {others.map(([key, value]) => (
        <li key={key}>
          <span className="text-zinc-500">{key}:</span> {show(value)}
        </li>
      ))}
    </ul>
  );
}

/** Audit events, newest first, with "Load older" paging (the project's log and the operators' one). */
export function AuditTable({
  events,
  showProject = false,
  hasMore,
  isLoadingMore,
  onLoadMore,
  isFiltered = false,
}: {
  events: AuditEventRow[];
  /** Operators' view: show each event's project. */
  showProject?: boolean;
  hasMore: boolean;
  isLoadingMore: boolean;
  onLoadMore: () => void;
  isFiltered?: boolean;
}) {
  if (events.length === 0) {
    return isFiltered ? (
      <EmptyState
        icon={<ScrollText />}
        title="No event matches"
        description="Change or clear the filters to see more."
      />
    ) : (
      <EmptyState
        icon={<ScrollText />}
        title="Nothing recorded yet"
        description="Every change made through the console or the API appears here."
      />
    );
  }
  return (
    <div className="space-y-3">
      <Card className="overflow-x-auto">
        <Table aria-label="Audit log">
          <THead>
            <tr>
              <TH>When</TH>
              <TH>Who</TH>
              {showProject ? <TH>Project</TH> : null}
              <TH>Action</TH>
              <TH>Resource</TH>
              <TH>Outcome</TH>
            </tr>
          </THead>
          <TBody>
            {events.map((event) => {
              const outcome = auditOutcome(event.result, event.errorCode);
              return (
                <TR key={event.id}>
                  <TD className="whitespace-nowrap">
                    {/* To the second, in the reader's time zone. */}
                    <DateTime value={event.createdAt} withSeconds />
                  </TD>
                  <TD>
                    <div title={event.actor.userId ?? undefined}>
                      {event.actor.email ?? 'unknown'}
                    </div>
                    {event.apiToken ? (
                      <div className="text-xs text-zinc-500" title={event.apiToken.id}>
                        via API token{' '}
                        {event.apiToken.name
                          ? `“${event.apiToken.name}”`
                          : event.apiToken.id.slice(0, 8)}
                      </div>
                    ) : null}
                  </TD>
                  {showProject ? (
                    <TD title={event.projectId ?? undefined}>
                      {event.projectId ? (event.projectName ?? event.projectId.slice(0, 8)) : '—'}
                    </TD>
                  ) : null}
                  <TD>
                    <div>{auditActionLabel(event.path)}</div>
                    <div className="font-mono text-xs text-zinc-400">{event.path}</div>
                  </TD>
                  <TD>
                    <Resource event={event} />
                    <Details details={event.details} />
                  </TD>
                  <TD title={outcome.code}>
                    <Badge tone={outcome.isSuccess ? 'success' : 'danger'}>{outcome.label}</Badge>
                    {outcome.reason ? (
                      <div className="mt-1 text-xs text-zinc-500">{outcome.reason}</div>
                    ) : null}
                  </TD>
                </TR>
              );
            })}
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
